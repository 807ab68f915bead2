export const TOOL = { name: 'hessian-cluster', version: '0.1.0' } as const;
