/** `vpt tool <name> [args...]`: a task's measurement that is not a suite run (the estimator check, a micro-bench). */
import type { Command } from 'commander';
import { UserError } from '../errors.js';
import { taskByName, taskNames } from '../tasks/index.js';
import type { TaskTool } from '../tasks/contract.js';
import { taskServices } from './services.js';

/** Every task's tools, by name, with the task that owns each. */
export function allTools(): Map<string, { task: string; tool: TaskTool }> {
  const out = new Map<string, { task: string; tool: TaskTool }>();
  for (const name of taskNames()) {
    for (const [tool, t] of Object.entries(taskByName(name).tools ?? {})) out.set(tool, { task: name, tool: t });
  }
  return out;
}

export async function runTool(name: string, argv: string[]): Promise<void> {
  const tools = allTools();
  const t = tools.get(name);
  if (!t) throw new UserError(`unknown tool '${name}'; valid: ${[...tools.keys()].join(', ')}`);
  await t.tool.run(argv, taskServices);
}

export function registerTool(program: Command): void {
  program
    .command('tool')
    .description("run a task's measurement tool (without a name: list them); its own flags follow the name (--help for them)")
    .argument('[name]', 'tool name')
    .argument('[args...]', "the tool's arguments")
    .allowUnknownOption(true)
    .helpOption(false)
    .action(async (name: string | undefined, args: string[]) => {
      if (!name || name === '--help' || name === '-h') {
        process.stdout.write('tools (vpt tool <name> --help for each):\n');
        for (const [n, t] of allTools()) process.stdout.write(`  ${n.padEnd(16)} ${t.task.padEnd(9)} ${t.tool.description}\n`);
        return;
      }
      await runTool(name, args);
    });
}
