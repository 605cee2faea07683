export const ORG_A = "acme";
export const KEY_A = "bench_key_acme_123456";
export const ORG_B = "globex";
export const KEY_B = "bench_key_globex_123456";
