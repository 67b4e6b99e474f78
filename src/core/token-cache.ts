/**
 * Opt-in LRU of verified tokens. The key is the whole token string, never a part of it
 * (fast-jwt CVE-2026-35039); an entry never outlives the token's `exp`.
 */
export class TokenCache<TValue> {
  readonly #max: number;
  readonly #entries = new Map<string, { readonly value: TValue; readonly expiresAt: number }>();

  constructor(max: number) {
    this.#max = max;
  }

  get(token: string, nowMs: number): TValue | undefined {
    const entry = this.#entries.get(token);
    if (!entry) return undefined;
    this.#entries.delete(token);
    if (entry.expiresAt <= nowMs) return undefined;
    this.#entries.set(token, entry);
    return entry.value;
  }

  set(token: string, value: TValue, expiresAt: number): void {
    this.#entries.delete(token);
    if (this.#entries.size >= this.#max) {
      const oldest = this.#entries.keys().next();
      if (!oldest.done) this.#entries.delete(oldest.value);
    }
    this.#entries.set(token, { value, expiresAt });
  }

  get size(): number {
    return this.#entries.size;
  }
}
