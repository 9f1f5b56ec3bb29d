// Original file: ../../proto/pfedlora/v1/federation.proto


/**
 * What every private model of a run must meet: it maps its input to h of
 * width representation_dim and has its own head to the run's classes; the
 * shared adapter D [d, r], U [r, C] plugs in at h.
 */
export interface AdapterContract {
  'representation_dim'?: (number);
  /**
   * The run's classes in label order; C is their count. Clients map their
   * labels to these by name.
   */
  'class_names'?: (string)[];
  /**
   * The run's default input (built-in models, image folders are resized to it).
   */
  'input_shape'?: (number)[];
  /**
   * Where the adapter plugs in: "representation" (a branch parallel to the head).
   */
  'plug_point'?: (string);
  /**
   * What a sample is: "image" [h, w, c], "table" [features] or "text" [tokens]
   * (byte-tokenizer ids, vocabulary 257). Empty (an older coordinator): by
   * input_shape, 3 sizes an image, else a table. Shared models (FML, FedKD)
   * are built for it.
   */
  'input_kind'?: (string);
}

/**
 * What every private model of a run must meet: it maps its input to h of
 * width representation_dim and has its own head to the run's classes; the
 * shared adapter D [d, r], U [r, C] plugs in at h.
 */
export interface AdapterContract__Output {
  'representation_dim': (number);
  /**
   * The run's classes in label order; C is their count. Clients map their
   * labels to these by name.
   */
  'class_names': (string)[];
  /**
   * The run's default input (built-in models, image folders are resized to it).
   */
  'input_shape': (number)[];
  /**
   * Where the adapter plugs in: "representation" (a branch parallel to the head).
   */
  'plug_point': (string);
  /**
   * What a sample is: "image" [h, w, c], "table" [features] or "text" [tokens]
   * (byte-tokenizer ids, vocabulary 257). Empty (an older coordinator): by
   * input_shape, 3 sizes an image, else a table. Shared models (FML, FedKD)
   * are built for it.
   */
  'input_kind': (string);
}
