/**
 * Plain-text and informal answer forms rewritten into the LaTeX the rest of the grader reads:
 * number words (`twelve`, `6 hundred`), `sqrt(2)`, `1.04 x 10^2`, repeating decimals
 * (`0.\overline{3}`), trigonometric functions of angles in degrees (`\sin 30^\circ`), `U` for a
 * union and `;` between items.
 */

const SMALL_NUMBERS: Record<string, number> = {
  zero: 0,
  one: 1,
  two: 2,
  three: 3,
  four: 4,
  five: 5,
  six: 6,
  seven: 7,
  eight: 8,
  nine: 9,
  ten: 10,
  eleven: 11,
  twelve: 12,
  thirteen: 13,
  fourteen: 14,
  fifteen: 15,
  sixteen: 16,
  seventeen: 17,
  eighteen: 18,
  nineteen: 19,
  twenty: 20,
  thirty: 30,
  forty: 40,
  fifty: 50,
  sixty: 60,
  seventy: 70,
  eighty: 80,
  ninety: 90,
};

const SCALES: Record<string, bigint> = {
  hundred: 100n,
  thousand: 1000n,
  million: 1_000_000n,
  billion: 1_000_000_000n,
  trillion: 1_000_000_000_000n,
};

/** A decimal string times a power of ten, exactly (`1.5` × 10^6 → `1500000`). */
function scaleDecimal(decimal: string, scale: bigint): string {
  const [whole = "0", fraction = ""] = decimal.split(".");
  const digits = BigInt(`${whole}${fraction}`);
  const denominator = 10n ** BigInt(fraction.length);
  const scaled = digits * scale;
  if (scaled % denominator === 0n) return String(scaled / denominator);
  const integer = scaled / denominator;
  const rest = String(scaled % denominator)
    .padStart(fraction.length, "0")
    .replace(/0+$/, "");
  return `${integer}.${rest}`;
}

/**
 * The value of a number written in words, alone or with a scale word after digits:
 * `twelve`, `twenty-five`, `three thousand two hundred`, `6 hundred`, `1.5 million`.
 */
export function numberFromWords(text: string): string | undefined {
  const words = text
    .trim()
    .toLowerCase()
    .split(/[\s-]+|(?<=\d)(?=[a-z])/)
    // "and" only after a scale word: `one hundred and five`, not `twelve and thirteen`.
    .filter((word, i, all) => word !== "" && !(word === "and" && SCALES[all[i - 1] ?? ""] !== undefined));
  if (words.length === 0) return undefined;
  // Digits followed by one scale word: `6 hundred`, `1.5 million`.
  if (/^\d+(?:\.\d+)?$/.test(words[0]!)) {
    const scale = words.length === 2 ? SCALES[words[1]!] : undefined;
    return scale === undefined ? undefined : scaleDecimal(words[0]!, scale);
  }
  let total = 0n;
  let group = 0n;
  let seen = false;
  for (const word of words) {
    const small = SMALL_NUMBERS[word];
    const scale = SCALES[word];
    if (small !== undefined) {
      group += BigInt(small);
      seen = true;
    } else if (scale === 100n && seen) group *= 100n;
    else if (scale !== undefined && seen) {
      total += group * scale;
      group = 0n;
    } else return undefined;
  }
  return seen ? String(total + group) : undefined;
}

const NUMBER_WORD = `(?:${[...Object.keys(SMALL_NUMBERS), ...Object.keys(SCALES), "and"].join("|")})\\b`;
const NUMBER_PHRASE = new RegExp(
  `^(-?)(\\d+(?:\\.\\d+)?\\s+(?:${Object.keys(SCALES).join("|")})\\b|${NUMBER_WORD}(?:[\\s-]+${NUMBER_WORD})*)`,
  "i",
);

/**
 * An answer that starts with a number in words, alone or before unit words (`twelve`,
 * `twelve apples`, `6 hundred`), with the number in digits; other text is returned unchanged.
 */
const DENOMINATORS: Record<string, number> = {
  half: 2,
  halves: 2,
  third: 3,
  quarter: 4,
  fourth: 4,
  fifth: 5,
  sixth: 6,
  seventh: 7,
  eighth: 8,
  ninth: 9,
  tenth: 10,
  hundredth: 100,
  thousandth: 1000,
};

/** `two thirds`, `one-half`, `a quarter`, `3 fifths` as `\frac{2}{3}`…; never "seconds". */
function fractionFromWords(text: string): string | undefined {
  const match = /^(-?)(.+?)[\s-]+([a-z]+?)s?\.?$/i.exec(text.trim());
  if (!match) return undefined;
  const denominator = DENOMINATORS[match[3]!.toLowerCase()] ?? DENOMINATORS[`${match[3]!.toLowerCase()}s`];
  if (denominator === undefined) return undefined;
  const words = match[2]!.trim();
  const numerator = /^(?:a|an)$/i.test(words) ? "1" : /^\d+$/.test(words) ? words : numberFromWords(words);
  return numerator === undefined ? undefined : `${match[1]}\\frac{${numerator}}{${denominator}}`;
}

export function rewriteNumberWords(text: string): string {
  const fraction = fractionFromWords(text);
  if (fraction !== undefined) return fraction;
  const match = NUMBER_PHRASE.exec(text.trim());
  if (!match) return text;
  const rest = text.trim().slice(match[0].length);
  // Only unit words may follow: `one-to-one` or `two sides of 5` are not numbers.
  if (!/^\s*(?:[a-zA-Z]+\s*)*\.?$/.test(rest) || /^\s*(?:of|to|or|times|and)\b/i.test(rest)) return text;
  const value = numberFromWords(match[2]!);
  return value === undefined ? text : `${match[1]}${value}${rest}`;
}

/** `0.1\overline{6}` → `\frac{15}{90}`: a repeating decimal as an exact fraction. */
function repeatingDecimals(text: string): string {
  return text.replace(
    /(\d*)\.(\d*)\\overline\s*(?:\{\s*(\d+)\s*\}|(\d))/g,
    (_match, whole: string, fixed: string, braced?: string, single?: string) => {
      const repeating = braced ?? single ?? "";
      const period = 10n ** BigInt(repeating.length) - 1n;
      const shift = 10n ** BigInt(fixed.length);
      const numerator = BigInt(`${whole || "0"}${fixed}`) * period + BigInt(repeating);
      return `\\frac{${numerator}}{${period * shift}}`;
    },
  );
}

const TRIG = "sin|cos|tan|cot|sec|csc";
const DEGREE = "(?:\\^\\s*\\{\\s*\\\\circ\\s*\\}|\\^\\s*\\\\circ(?![a-zA-Z])|°)";
const ANGLE_IN_DEGREES = new RegExp(
  `\\\\(${TRIG})(\\^\\s*(?:\\{\\s*\\d+\\s*\\}|\\d))?\\s*([({]\\s*)?(-?\\d+(?:\\.\\d+)?)\\s*${DEGREE}\\s*([)}])?`,
  "g",
);

/**
 * `\sin 30^\circ` → `\sin(30\pi/180)`, `\cos^2{45°}` → `\cos^2(45\pi/180)`: an angle in
 * degrees as radians, inside a function only.
 */
function anglesInDegrees(text: string): string {
  return text.replace(
    ANGLE_IN_DEGREES,
    (match, fn: string, power = "", open?: string, degrees = "", close?: string) =>
      !!open === !!close ? `\\${fn}${power}(${degrees}\\pi/180)` : match,
  );
}

/**
 * Function names written without a backslash (`sqrt(2)`, `sin 30°`, `max(3,5)`); `max` and
 * `min` only before their brackets, so that `45 min` stays minutes.
 */
const PLAIN_FUNCTION =
  /(?<![\\a-zA-Z])(?:(sqrt|sin|cos|tan|cot|sec|csc|arcsin|arccos|arctan|ln|log)(?=\s*[\d({])|(max|min)(?=\s*(?:[({]|\\\{)))/g;

/** Rewrites informal forms into the LaTeX the grader parses; applied before normalization. */
export function rewriteInformalForms(text: string): string {
  let s = text.replace(PLAIN_FUNCTION, (_match, fn?: string, extremum?: string) => `\\${fn ?? extremum}`);
  s = s.replace(/\\cfrac(?:\s*\[[lr]\])?/g, "\\frac");
  // `1.04 x 10^2`, `2.5 X 10^{-3}`: scientific notation with a letter for the product.
  s = s.replace(/(\d)\s*[xX]\s*(?=10\s*\^)/g, "$1\\times ");
  s = repeatingDecimals(s);
  s = anglesInDegrees(s);
  // `(-\infty,1) U (2,\infty)`: a capital U between intervals or sets is a union.
  s = s.replace(/(?<=[)\]]|\\\})\s*U\s*(?=[([]|\\\{)/g, "\\cup ");
  // `(1; 2)`, `1; 2; 3`: semicolons between items, where no comma is used (`\;` is a space).
  if (/(?<!\\);/.test(s) && !s.includes(",")) s = s.replace(/(?<!\\);/g, ",");
  return s;
}
