import * as tf from "@tensorflow/tfjs-core";
import { TokenlabError } from "../errors/tokenlab-error";

export interface ParameterGroup {
  /** Shown in errors and logs, e.g. "embeddings" or "layers 10-11". */
  name: string;
  params: tf.Variable[];
  learningRate: number;
  /** Decoupled weight decay (AdamW); 0 for none. */
  weightDecay: number;
}

export interface AdamWOptions {
  beta1?: number;
  beta2?: number;
  epsilon?: number;
}

/**
 * AdamW as torch.optim.AdamW computes it: p ← p·(1 − lr·wd), then the bias-corrected Adam update
 * p ← p − lr/(1−β1ᵗ) · m / (√v/√(1−β2ᵗ) + ε). Each group has its own learning rate (change it
 * between steps with setLearningRate, e.g. from a schedule) and weight decay. The optimizer owns
 * its moment tensors; `dispose()` frees them. Parameters without a gradient in a step are skipped,
 * like torch parameters whose .grad is None.
 */
export class AdamW {
  private readonly beta1: number;
  private readonly beta2: number;
  private readonly epsilon: number;
  private readonly moments = new Map<tf.Variable, { m: tf.Variable; v: tf.Variable; steps: number }>();
  private readonly groups: ParameterGroup[];

  constructor(groups: ParameterGroup[], options: AdamWOptions = {}) {
    this.groups = groups.map((g) => ({ ...g, params: [...g.params] }));
    this.beta1 = options.beta1 ?? 0.9;
    this.beta2 = options.beta2 ?? 0.999;
    this.epsilon = options.epsilon ?? 1e-8;
    const seen = new Set<tf.Variable>();
    for (const group of this.groups) {
      for (const p of group.params) {
        if (seen.has(p)) throw new TokenlabError(`variable ${p.name} is in more than one parameter group`, { group: group.name });
        seen.add(p);
      }
    }
  }

  setLearningRate(groupName: string, learningRate: number): void {
    const group = this.groups.find((g) => g.name === groupName);
    if (!group) throw new TokenlabError(`no parameter group named "${groupName}"`, { groups: this.groups.map((g) => g.name) });
    group.learningRate = learningRate;
  }

  learningRate(groupName: string): number | undefined {
    return this.groups.find((g) => g.name === groupName)?.learningRate;
  }

  /** Applies one update. `grads` is keyed by variable name (as tf.variableGrads returns); not disposed here. */
  step(grads: Readonly<Record<string, tf.Tensor>>): void {
    for (const group of this.groups) {
      for (const param of group.params) {
        const grad = grads[param.name];
        if (grad === undefined) continue;
        if (grad.shape.join(",") !== param.shape.join(",")) {
          throw new TokenlabError(`gradient for ${param.name} has shape [${grad.shape}], parameter is [${param.shape}]`);
        }
        this.update(param, grad, group);
      }
    }
  }

  private update(param: tf.Variable, grad: tf.Tensor, group: ParameterGroup): void {
    let state = this.moments.get(param);
    if (!state) {
      state = { m: zeroMoment(param), v: zeroMoment(param), steps: 0 };
      this.moments.set(param, state);
    }
    state.steps += 1;
    const { m, v, steps } = state;
    const lr = group.learningRate;
    const correction1 = 1 - this.beta1 ** steps;
    const correction2 = 1 - this.beta2 ** steps;
    tf.tidy(() => {
      m.assign(tf.add(tf.mul(m, this.beta1), tf.mul(grad, 1 - this.beta1)));
      v.assign(tf.add(tf.mul(v, this.beta2), tf.mul(tf.square(grad), 1 - this.beta2)));
      const decayed = group.weightDecay !== 0 ? tf.mul(param, 1 - lr * group.weightDecay) : param;
      const denominator = tf.add(tf.div(tf.sqrt(v), Math.sqrt(correction2)), this.epsilon);
      param.assign(tf.sub(decayed, tf.mul(tf.div(m, denominator), lr / correction1)));
    });
  }

  /** The moments and update count of `param` (undefined before its first update); borrowed, not copies. */
  momentsOf(param: tf.Variable): { m: tf.Tensor; v: tf.Tensor; steps: number } | undefined {
    return this.moments.get(param);
  }

  /** Sets the state of `param` (a saved run continuing): copies `m` and `v` into moments this optimizer owns. */
  setMoments(param: tf.Variable, state: { m: tf.Tensor; v: tf.Tensor; steps: number }): void {
    if (!this.groups.some((g) => g.params.includes(param))) throw new TokenlabError(`variable ${param.name} is not in this optimizer`);
    const old = this.moments.get(param);
    if (old) tf.dispose([old.m, old.v]);
    this.moments.set(param, { m: tf.variable(state.m, false), v: tf.variable(state.v, false), steps: state.steps });
  }

  dispose(): void {
    for (const { m, v } of this.moments.values()) tf.dispose([m, v]);
    this.moments.clear();
  }
}

/** A zero moment variable; tidy frees the temporary zeros (the variable keeps its own reference). */
function zeroMoment(param: tf.Variable): tf.Variable {
  return tf.tidy(() => tf.variable(tf.zerosLike(param), false));
}
