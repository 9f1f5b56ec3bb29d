// Original file: ../../proto/pfedlora/v1/federation.proto


export interface DescribeRequest {
  'protocol_version'?: (number);
  /**
   * Bearer credential, when the coordinator requires one.
   */
  'credential'?: (string);
  /**
   * The id the client will join with (checked against its TLS identity under mTLS).
   */
  'client_id'?: (string);
}

export interface DescribeRequest__Output {
  'protocol_version': (number);
  /**
   * Bearer credential, when the coordinator requires one.
   */
  'credential': (string);
  /**
   * The id the client will join with (checked against its TLS identity under mTLS).
   */
  'client_id': (string);
}
