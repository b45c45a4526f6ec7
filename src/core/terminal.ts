/**
 * Text from events, alerts and logs reaches terminals, and a terminal acts on
 * some characters instead of printing them: ESC starts CSI/OSC sequences
 * (clear the screen, retitle the window, hyperlinks, on some terminals worse),
 * other C0/C1 controls move the cursor, bidi overrides reorder what is shown.
 * Every printer that writes such text to a terminal passes it through here.
 */
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;
/** The ones JSON.stringify leaves raw (it escapes U+0000–U+001F itself). */
const UNSAFE_IN_JSON = /[\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;
const SHORT: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

function escape(c: string): string {
  const code = c.charCodeAt(0);
  return SHORT[c] ?? (code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`);
}

/**
 * `s` with every control and bidi character written as a visible escape
 * (`\x1b`, `\n`, `\u202e`), so printing it cannot drive the terminal.
 *
 * @example terminalSafe('\x1b]0;pwned\x07') // '\\x1b]0;pwned\\x07'
 */
export function terminalSafe(s: string): string {
  UNSAFE.lastIndex = 0;
  return UNSAFE.test(s) ? s.replace(UNSAFE, escape) : s;
}

/**
 * JSON text made safe for a terminal and still the same JSON: the characters
 * JSON.stringify leaves raw (C1 controls, bidi) become `\uXXXX` escapes, which
 * can only occur inside strings, where they mean the same character.
 */
export function terminalSafeJson(json: string): string {
  UNSAFE_IN_JSON.lastIndex = 0;
  return UNSAFE_IN_JSON.test(json) ? json.replace(UNSAFE_IN_JSON, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`) : json;
}
