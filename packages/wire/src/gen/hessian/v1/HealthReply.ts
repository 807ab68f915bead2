// Original file: ../../proto/hessian/v1/worker.proto


export interface HealthReply {
  'id'?: (string);
  'backend'?: (string);
  'running'?: (number);
  'draining'?: (boolean);
}

export interface HealthReply__Output {
  'id': (string);
  'backend': (string);
  'running': (number);
  'draining': (boolean);
}
