/**
 * Durations in several units (`7 hours and 30 minutes`). Such an answer equals a reference
 * that states one time unit when the values agree in that unit (`7.5 hours`, `450 minutes`);
 * against a bare number it equals the value in its largest or its smallest unit (7.5 or
 * 450), the two readings a question asking "how many hours" or "how many minutes" gives.
 * The parts alone (`7`, `30`) or a decimal misreading (`7.3`) never match.
 */
import Fraction from "fraction.js";

const SECONDS_PER_UNIT: Record<string, number> = {
  second: 1,
  minute: 60,
  hour: 3600,
  day: 86_400,
  week: 604_800,
};

const UNIT_ALIASES: Record<string, string> = {
  s: "second",
  sec: "second",
  secs: "second",
  second: "second",
  seconds: "second",
  min: "minute",
  mins: "minute",
  minute: "minute",
  minutes: "minute",
  h: "hour",
  hr: "hour",
  hrs: "hour",
  hour: "hour",
  hours: "hour",
  day: "day",
  days: "day",
  week: "week",
  weeks: "week",
};

const PART = /(\d+(?:\.\d+)?)\s*([a-zA-Z]+)/y;

export interface CompoundDuration {
  seconds: Fraction;
  largest: string;
  smallest: string;
}

/** Text without LaTeX decoration: `7\text{ hours and }30\text{ minutes}` → `7 hours and 30 minutes`. */
function plain(text: string): string {
  return text
    .replace(/\\(?:text|mbox|mathrm)\s*\{([^{}]*)\}/g, " $1 ")
    .replace(/\\[,;!: ]|~|\$/g, " ")
    .trim()
    .replace(/\.$/, "")
    .trim();
}

function fractionOf(decimal: string): Fraction {
  return new Fraction(decimal);
}

/** `7 hours and 30 minutes`, `2 h 15 min`, `1 day, 3 hours`: two or more parts in decreasing units. */
export function compoundDuration(text: string): CompoundDuration | undefined {
  // Cheap test first: most answers name no time unit at all.
  if (!/\d\s*(?:\\[a-z]+\s*\{\s*)?[a-zA-Z]/.test(text) || !/\d\D+\d/.test(text)) return undefined;
  const s = plain(text);
  let position = 0;
  const units: string[] = [];
  let seconds = new Fraction(0);
  while (position < s.length) {
    if (units.length > 0) {
      const separator = /\s*(?:,\s*)?(?:and\s+)?/y;
      separator.lastIndex = position;
      position += separator.exec(s)?.[0].length ?? 0;
    }
    PART.lastIndex = position;
    const part = PART.exec(s);
    const unit = part ? UNIT_ALIASES[part[2]!.toLowerCase()] : undefined;
    if (!part || !unit) return undefined;
    const previous = units.at(-1);
    if (previous !== undefined && SECONDS_PER_UNIT[unit]! >= SECONDS_PER_UNIT[previous]!) return undefined;
    units.push(unit);
    seconds = seconds.add(fractionOf(part[1]!).mul(SECONDS_PER_UNIT[unit]!));
    position = PART.lastIndex;
  }
  if (units.length < 2) return undefined;
  return { seconds, largest: units[0]!, smallest: units.at(-1)! };
}

/** `7.5 hours`: a number and one time unit. */
export function simpleDuration(text: string): Fraction | undefined {
  const match = /^(\d+(?:\.\d+)?)\s*([a-zA-Z]+)$/.exec(plain(text));
  const unit = match ? UNIT_ALIASES[match[2]!.toLowerCase()] : undefined;
  return match && unit ? fractionOf(match[1]!).mul(SECONDS_PER_UNIT[unit]!) : undefined;
}

/**
 * Whether a compound duration on either side matches the other side, or undefined when
 * neither side is one. `numberOf` reads a bare number (exactly, or undefined).
 */
export function durationsMatch(
  a: string,
  b: string,
  numberOf: (text: string) => Fraction | undefined,
): boolean | undefined {
  const x = compoundDuration(a);
  const y = compoundDuration(b);
  if (!x && !y) return undefined;
  if (x && y) return x.seconds.equals(y.seconds);
  const [compound, other] = x ? [x, b] : [y!, a];
  const stated = simpleDuration(other);
  if (stated !== undefined) return stated.equals(compound.seconds);
  const value = numberOf(other);
  if (value === undefined) return false;
  return [compound.largest, compound.smallest].some((unit) =>
    compound.seconds.div(SECONDS_PER_UNIT[unit]!).equals(value),
  );
}
