/** A name → definition registry that rejects duplicates and lists the valid names on a typo. */
export class Registry<T extends { name: string }> {
  private readonly items = new Map<string, T>();

  constructor(readonly kind: string) {}

  register(item: T): T {
    if (this.items.has(item.name)) throw new Error(`${this.kind} '${item.name}' is already registered`);
    this.items.set(item.name, item);
    return item;
  }

  get(name: string): T {
    const item = this.items.get(name);
    if (!item) throw new Error(`unknown ${this.kind} '${name}'; valid: ${this.names().join(', ')}`);
    return item;
  }

  has(name: string): boolean {
    return this.items.has(name);
  }

  names(): string[] {
    return [...this.items.keys()];
  }
}
