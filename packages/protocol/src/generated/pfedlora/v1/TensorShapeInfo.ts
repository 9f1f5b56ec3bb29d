// Original file: ../../proto/pfedlora/v1/federation.proto


export interface TensorShapeInfo {
  'height'?: (number);
  'width'?: (number);
  'channels'?: (number);
  'num_classes'?: (number);
}

export interface TensorShapeInfo__Output {
  'height': (number);
  'width': (number);
  'channels': (number);
  'num_classes': (number);
}
