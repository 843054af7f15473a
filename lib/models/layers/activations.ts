import * as tf from "@tensorflow/tfjs-core";
import { TokenlabError } from "../../errors/tokenlab-error";

const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);

/** Activation functions by their Hugging Face config name (`hidden_act` / `activation_function`). */
const ACTIVATIONS: Record<string, (x: tf.Tensor) => tf.Tensor> = {
  silu: (x) => tf.mul(x, tf.sigmoid(x)),
  swish: (x) => tf.mul(x, tf.sigmoid(x)),
  relu: (x) => tf.relu(x),
  // tanh approximation used by GPT-2 ("gelu_new") and Gemma-style configs ("gelu_pytorch_tanh").
  gelu_new: geluTanh,
  gelu_pytorch_tanh: geluTanh,
  // exact erf form
  gelu: (x) => tf.mul(tf.mul(x, 0.5), tf.add(1, tf.erf(tf.mul(x, Math.SQRT1_2)))),
};

function geluTanh(x: tf.Tensor): tf.Tensor {
  const inner = tf.mul(tf.add(x, tf.mul(tf.pow(x, 3), 0.044715)), SQRT_2_OVER_PI);
  return tf.mul(tf.mul(x, 0.5), tf.add(1, tf.tanh(inner)));
}

export function activation(name: string): (x: tf.Tensor) => tf.Tensor {
  const fn = ACTIVATIONS[name];
  if (!fn) throw new TokenlabError(`unsupported activation "${name}"`, { activation: name, supported: Object.keys(ACTIVATIONS) });
  return fn;
}
