/** A model's parameters by name: the same functions run on trainable variables, perturbed copies and frozen weights. */
import type * as tf from '@tensorflow/tfjs';

export type Params = Record<string, tf.Tensor>;
