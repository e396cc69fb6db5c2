/**
 * A secret value that every printer redacts. Example: `new Secret('distr_password', 's3cr3t')`.
 * `toString()`/JSON never reveal it; only `reveal()` does, and only the transport calls that.
 */
export class Secret {
  readonly #value: string;
  constructor(
    readonly name: string,
    value: string,
  ) {
    this.#value = value;
  }
  reveal(): string {
    return this.#value;
  }
  toString(): string {
    return `<secret:${this.name}>`;
  }
  toJSON(): string {
    return this.toString();
  }
}

/**
 * Replaces every known secret value in a text by its placeholder: the last line of defence
 * for output, journal, errors and reports. Example: `redactor.redact('pw=s3cr3t')` -> `pw=<secret:pw>`.
 */
export class Redactor {
  #secrets: Secret[] = [];
  add(secret: Secret): void {
    // Very short values would redact ordinary text; the loader refuses them, this is a guard.
    if (secret.reveal().length < 3) return;
    this.#secrets.push(secret);
    this.#secrets.sort((a, b) => b.reveal().length - a.reveal().length);
  }
  get size(): number {
    return this.#secrets.length;
  }
  /**
   * For text that arrives in pieces (a pipe): how much of `text` can be redacted and passed on now
   * without cutting a secret in two. What is held back is an end that may be the start of a
   * secret, or a secret that straddles the cut; it goes out with the next piece (or the last one).
   * Example: with the secret `s3cr3t`, safeLength('pw=s3c') -> 3.
   */
  safeLength(text: string): number {
    let cut = text.length;
    for (const s of this.#secrets) {
      const value = s.reveal();
      // An end of the text that is the beginning of this secret.
      for (let k = Math.min(value.length - 1, text.length); k > 0; k--) {
        if (text.endsWith(value.slice(0, k))) {
          cut = Math.min(cut, text.length - k);
          break;
        }
      }
    }
    // Never through a whole secret: move the cut to its start (which may reach another one).
    for (let moved = true; moved; ) {
      moved = false;
      for (const s of this.#secrets) {
        const value = s.reveal();
        for (let at = text.indexOf(value); at >= 0 && at < cut; at = text.indexOf(value, at + 1)) {
          if (at + value.length > cut) {
            cut = at;
            moved = true;
          }
        }
      }
    }
    return cut;
  }

  redact(text: string): string {
    let out = text;
    for (const s of this.#secrets) out = out.split(s.reveal()).join(s.toString());
    return out;
  }
  /**
   * Deep-redacts the strings inside a JSON-like value, each as the text it is: redacting its JSON
   * form instead would miss a secret holding `"`, `\\` or a control character, which JSON escapes.
   */
  redactValue<T>(value: T): T {
    if (this.#secrets.length === 0) return value;
    const walk = (v: unknown): unknown => {
      if (typeof v === 'string') return this.redact(v);
      if (Array.isArray(v)) return v.map(walk);
      if (v === null || typeof v !== 'object') return v;
      // As JSON.stringify sees it: a value with toJSON (Command, Secret, Date) is what that gives.
      if (typeof (v as { toJSON?: unknown }).toJSON === 'function')
        return walk((v as { toJSON(): unknown }).toJSON());
      return Object.fromEntries(
        Object.entries(v).flatMap(([k, x]) => (x === undefined ? [] : [[k, walk(x)]])),
      );
    };
    return walk(value) as T;
  }
}
