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
