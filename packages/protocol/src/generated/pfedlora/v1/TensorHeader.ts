// Original file: ../../proto/pfedlora/v1/federation.proto


/**
 * One tensor of a payload, as it is laid out in the PFLT bytes.
 */
export interface TensorHeader {
  'name'?: (string);
  'dtype'?: (string);
  'shape'?: (number)[];
}

/**
 * One tensor of a payload, as it is laid out in the PFLT bytes.
 */
export interface TensorHeader__Output {
  'name': (string);
  'dtype': (string);
  'shape': (number)[];
}
