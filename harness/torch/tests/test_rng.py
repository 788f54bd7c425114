"""Rng draws the same numbers as harness/engine/rng.ts. Reference values printed by TypeScript:
npx tsx -e "import {Rng} from './harness/engine/rng.ts'; const r = new Rng(seed); ..." (see each field)."""
import numpy as np
import pytest

from vpt_torch.native_rng import load_native_normals
from vpt_torch.rng import Rng

# u: 5 × nextUint32, n: 3 × next, i: 3 × int(-5, 5), g: normals(4, 1), s: sample(10, 4), sh: shuffle([0..6]),
# fu: fork('random-feedback') seed and two nextUint32, f2: new Rng(seed).fork('shot-3').sample(20, 5),
# g2: new Rng(seed).normals(3, 0.02) — all drawn in this order from one Rng except f2 and g2.
REFERENCE = {
    0: {"u": [4205396811, 3543653536, 1222415357, 3047368389, 387095348], "n": [0.5834812228567898, 0.17115427274256945, 0.9367286283522844], "i": [2, -3, 3], "g": [1.3351025581359863, 0.6686092615127563, -1.5385106801986694, 1.952598214149475], "s": [2, 3, 9, 6], "sh": [2, 6, 1, 0, 5, 3, 4], "fu": [3197380298, 1726546916, 1464042532], "f2": [5, 0, 3, 16, 13], "g2": [0.025283530354499817, -0.004118561279028654, -0.007523945067077875]},
    1: {"u": [1828152527, 3394835397, 2967886022, 2251045104, 4148684523], "n": [0.9442867799662054, 0.7507600616663694, 0.8593415473587811], "i": [-3, -4, -5], "g": [-0.47162213921546936, -0.2673752009868622, -1.5337554216384888, -1.915822982788086], "s": [1, 6, 9, 5], "sh": [6, 2, 3, 4, 0, 1, 5], "fu": [409527305, 3372413238, 3037830891], "f2": [5, 16, 0, 10, 11], "g2": [0.005291972775012255, -0.0303012914955616, 0.048843901604413986]},
    42: {"u": [1028872839, 2516511472, 400437680, 853279530, 1920286840], "n": [0.8355816230177879, 0.8486008339095861, 0.9291548449546099], "i": [0, 5, -3], "g": [-0.9529301524162292, -2.4919888973236084, 1.922504186630249, -0.839789867401123], "s": [3, 8, 4, 2], "sh": [0, 3, 2, 4, 1, 5, 6], "fu": [2294735820, 3780128756, 2523617466], "f2": [0, 16, 12, 3, 9], "g2": [-0.012696309015154839, 0.002804600866511464, 0.01115178782492876]},
    123456789: {"u": [2230556110, 1356862853, 2315437121, 2290487179, 1178859606], "n": [0.8343917087186128, 0.8654240211471915, 0.8764337571337819], "i": [4, -3, 1], "g": [-1.4297173023223877, -0.34430819749832153, 0.7339714765548706, 0.7955724000930786], "s": [7, 0, 1, 3], "sh": [6, 4, 1, 0, 3, 2, 5], "fu": [3608524693, 2369678791, 444274371], "f2": [9, 0, 4, 18, 5], "g2": [-0.009742747992277145, -0.024350373074412346, 0.008102823980152607]},
    4294967295: {"u": [1413747962, 91561161, 3282502067, 2190738929, 3748440605], "n": [0.8949119262397289, 0.4535134914331138, 0.4112571326550096], "i": [3, -5, 3], "g": [0.6637294292449951, -0.0025109138805419207, 0.003193777520209551, -1.5781079530715942], "s": [3, 1, 2, 5], "sh": [5, 6, 0, 2, 1, 3, 4], "fu": [2060688591, 424081090, 965386232], "f2": [5, 18, 11, 6, 1], "g2": [0.017711244523525238, -0.033932603895664215, 0.03207559138536453]},
}


@pytest.mark.parametrize("seed", sorted(REFERENCE))
def test_same_numbers_as_typescript(seed: int) -> None:
    ref = REFERENCE[seed]
    r = Rng(seed)
    assert [r.next_uint32() for _ in range(5)] == ref["u"]
    assert [r.next() for _ in range(3)] == ref["n"]
    assert [r.integer(-5, 5) for _ in range(3)] == ref["i"]
    g = r.normals(4, 1.0)
    assert g.dtype == np.float32 and g.tolist() == ref["g"]  # float32 values, compared exactly
    assert r.sample(10, 4) == ref["s"]
    assert r.shuffle(list(range(7))) == ref["sh"]
    f = r.fork("random-feedback")
    assert [f.seed, f.next_uint32(), f.next_uint32()] == ref["fu"]
    assert Rng(seed).fork("shot-3").sample(20, 5) == ref["f2"]
    assert Rng(seed).normals(3, 0.02).tolist() == ref["g2"]


def test_pick_and_fork_are_stable() -> None:
    r = Rng(7)
    xs = ["a", "b", "c"]
    assert r.pick(xs) in xs
    assert Rng(7).fork("x").seed == Rng(7).fork("x").seed != Rng(7).fork("y").seed
    with pytest.raises(ValueError):
        r.pick([])


def test_native_normals_draw_what_python_draws() -> None:
    native = load_native_normals()
    if native is None:
        pytest.skip("no C compiler here: Rng.normals runs its Python loop")
    for seed in (3, 99):
        a, b = Rng(seed), Rng(seed, native)
        assert np.array_equal(a.normals(1000, 0.5), b.normals(1000, 0.5))
        assert a.next_uint32() == b.next_uint32()  # the state advanced alike
    # TypeScript's numbers through the C loop too.
    assert Rng(42, native).normals(3, 0.02).tolist() == REFERENCE[42]["g2"]
