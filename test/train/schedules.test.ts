import * as assert from "node:assert/strict";
import { constantSchedule, initialPlateauState, updatePlateau, warmupCosineSchedule } from "../../lib/train/schedules";
import { initialUnfreezeState, stepUnfreeze, topDownStages, type UnfreezeTrigger } from "../../lib/train/unfreeze-schedule";

describe("learning-rate schedules", () => {
  it("warms up linearly and decays by a cosine to the floor", () => {
    const schedule = warmupCosineSchedule({ warmupSteps: 4, totalSteps: 14, minFactor: 0.1 });
    assert.deepEqual([0, 1, 2, 3].map(schedule), [0.25, 0.5, 0.75, 1]);
    // Halfway through the decay the cosine term is 0.5: 0.1 + 0.5 * 0.9.
    assert.ok(Math.abs(schedule(9) - 0.55) < 1e-12);
    assert.equal(schedule(14), 0.1);
    assert.equal(schedule(1000), 0.1);
    for (let s = 4; s < 14; s++) assert.ok(schedule(s + 1) <= schedule(s));
  });

  it("keeps a constant factor and rejects impossible warmups", () => {
    assert.equal(constantSchedule()(123), 1);
    assert.throws(() => warmupCosineSchedule({ warmupSteps: 10, totalSteps: 5 }), /warmupSteps ≤ totalSteps/);
  });

  it("tracks plateaus with a minimum improvement", () => {
    let state = updatePlateau(initialPlateauState, 10, 2.0);
    state = updatePlateau(state, 20, 1.95, 0.1);
    assert.deepEqual(state, { best: 2.0, bestStep: 10, evalsWithoutImprovement: 1 });
    state = updatePlateau(state, 30, 1.5, 0.1);
    assert.deepEqual(state, { best: 1.5, bestStep: 30, evalsWithoutImprovement: 0 });
  });
});

describe("unfreezing schedule", () => {
  function simulate(trigger: UnfreezeTrigger, stages: number, steps: number, evalEvery: number, evalLoss: (step: number) => number): number[] {
    let state = initialUnfreezeState;
    const openedAt: number[] = [];
    for (let completed = 1; completed <= steps; completed++) {
      const loss = completed % evalEvery === 0 ? evalLoss(completed) : undefined;
      const result = stepUnfreeze(state, trigger, stages, completed, loss);
      state = result.state;
      if (result.open) openedAt.push(completed);
    }
    return openedAt;
  }

  it("opens a stage every N steps until the stages run out", () => {
    assert.deepEqual(simulate({ every: 5 }, 3, 40, 1000, () => 0), [5, 10, 15]);
  });

  it("opens a stage after `patience` evals without improvement, counting afresh after each", () => {
    // Loss improves until step 20, then is flat: evals at 25 and 30 are bad → open at 30; then 35, 40 → open at 40.
    const loss = (step: number): number => (step <= 20 ? 10 - step / 10 : 8);
    assert.deepEqual(simulate({ onPlateau: { patience: 2 } }, 5, 40, 5, loss), [30, 40]);
  });

  it("orders default stages top block first, with the final norm", () => {
    assert.deepEqual(topDownStages(3), [["block.2", "norm.final"], ["block.1"], ["block.0"]]);
  });

  it("rejects a trigger without a rule", () => {
    assert.throws(() => stepUnfreeze(initialUnfreezeState, {}, 1, 1), /needs `every`/);
  });
});
