/**
 * The one place where secrets leave the text that the server shows: error bodies, metric
 * labels, the dashboard and the log all pass through a redactor built from the server's
 * configuration. It blanks the password of URLs (`http://user:secret@host` →
 * `http://user:***@host`), credentials in query strings and Bearer headers, and every
 * configured secret (upstream and verifier keys, client and admin keys) wherever it appears.
 */
export type Redact = (text: string) => string;

const urlCredentials = /\b([a-z][a-z0-9+.-]*:\/\/)([^\s/?#@:]*)(?::[^\s/?#@]*)?@/gi;
const queryCredentials = /([?&](?:api[_-]?key|key|token|access_token|password|secret)=)[^&#\s"']+/gi;
const bearer = /\b(Bearer\s+)[^\s"',]+/gi;

export function createRedactor(secrets: Iterable<string | undefined>): Redact {
  // Longest first, so that a secret containing another is blanked whole.
  const known = [
    ...new Set([...secrets].filter((s): s is string => typeof s === "string" && s.length >= 4)),
  ].sort((a, b) => b.length - a.length);
  return (text) => {
    let out = text
      .replace(urlCredentials, (_, scheme: string, user: string) => `${scheme}${user ? `${user}:` : ""}***@`)
      .replace(queryCredentials, "$1***")
      .replace(bearer, "$1***");
    for (const secret of known) if (out.includes(secret)) out = out.split(secret).join("***");
    return out;
  };
}

/** Cuts a text kept per request (a model name, an answer, an error) to `max` characters. */
export function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max)}…`;
}
