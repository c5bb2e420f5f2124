/**
 * Numbers for grading: exact rationals (fraction.js, BigInt) wherever a value is exact, and
 * 40-digit decimals (decimal.js) where it is not (radicals, π, logarithms), so that equality
 * is exact for exact values and relative, never absolute, for the rest. Complex values carry
 * both parts so that `i^2` is `-1`.
 */
import { Decimal } from "decimal.js";
import Fraction from "fraction.js";

const Precise = Decimal.clone({ precision: 40, rounding: Decimal.ROUND_HALF_EVEN, maxE: 9e15, minE: -9e15 });
type Precise = InstanceType<typeof Precise>;

/** An exact rational, or a 40-digit approximation. */
export type Real = Fraction | Precise;
export interface Complex {
  re: Real;
  im: Real;
}

/** Thrown where a value is undefined (division by zero, a real function of a complex number). */
export class UndefinedValueError extends Error {}

const ZERO = new Fraction(0);
const ONE = new Fraction(1);
/** Exact values above this many bits are kept as decimals instead (`2^{10^9}`). */
const MAX_EXACT_BITS = 200_000;
/** Powers of fractions are kept exact only up to here: their reduction is slow. */
const MAX_EXACT_FRACTION_POWER_BITS = 20_000;
/** Relative tolerance between an exact and an approximate value, or two approximate ones. */
const RELATIVE_TOLERANCE = new Precise("1e-25");
/** An approximate value this small equals an exact zero (`\sin\pi` is 0). */
const ZERO_TOLERANCE = new Precise("1e-34");
const PI = Precise.acos(-1);

export const isExact = (x: Real): x is Fraction => x instanceof Fraction;

export function real(x: Real): Complex {
  return { re: x, im: ZERO };
}

export function exactInteger(value: bigint | number): Complex {
  return real(new Fraction(value));
}

/** `123`, `-4.5`, `.5`, `6.72e-5` as an exact rational. */
export function parseDecimal(text: string): Fraction {
  const match = /^(-?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/.exec(text);
  if (!match || (match[2] === "" && !match[3])) throw new UndefinedValueError(`not a number: ${text}`);
  const [, sign, whole, fraction = "", exponent = "0"] = match as unknown as [
    string,
    string,
    string,
    string?,
    string?,
  ];
  const digits = BigInt(`${whole}${fraction}` || "0");
  const scale = BigInt(exponent) - BigInt(fraction.length);
  if (scale < -100_000n || scale > 100_000n) throw new UndefinedValueError("exponent out of range");
  const value = scale >= 0n ? new Fraction(digits * 10n ** scale) : new Fraction(digits, 10n ** -scale);
  return sign === "-" ? value.neg() : value;
}

export function toPrecise(x: Real): Precise {
  if (!isExact(x)) return x;
  const value = new Precise(x.n.toString()).div(x.d.toString());
  return x.s < 0n ? value.neg() : value;
}

function isZero(x: Real): boolean {
  return isExact(x) ? x.n === 0n : x.isZero();
}

function bitLength(value: bigint): number {
  const hex = value.toString(16);
  return (hex.length - 1) * 4 + Number.parseInt(hex[0]!, 16).toString(2).length;
}

function bits(x: Fraction): number {
  return Math.max(bitLength(x.n), bitLength(x.d));
}

function exactResult(x: Fraction): Real {
  return bits(x) > MAX_EXACT_BITS ? toPrecise(x) : x;
}

export function addReal(x: Real, y: Real): Real {
  if (isExact(x) && isExact(y)) return exactResult(x.add(y));
  return toPrecise(x).plus(toPrecise(y));
}

export function subReal(x: Real, y: Real): Real {
  if (isExact(x) && isExact(y)) return exactResult(x.sub(y));
  return toPrecise(x).minus(toPrecise(y));
}

export function mulReal(x: Real, y: Real): Real {
  if (isExact(x) && isExact(y)) return exactResult(x.mul(y));
  if ((isExact(x) && isZero(x)) || (isExact(y) && isZero(y))) return ZERO;
  return toPrecise(x).times(toPrecise(y));
}

export function divReal(x: Real, y: Real): Real {
  if (isZero(y)) throw new UndefinedValueError("division by zero");
  if (isExact(x) && isExact(y)) return exactResult(x.div(y));
  return toPrecise(x).div(toPrecise(y));
}

function negReal(x: Real): Real {
  return x.neg();
}

function sign(x: Real): number {
  return isExact(x) ? Number(x.s) * (x.n === 0n ? 0 : 1) : x.isZero() ? 0 : x.isNeg() ? -1 : 1;
}

export const isReal = (z: Complex): boolean => isZero(z.im);

export function add(z: Complex, w: Complex): Complex {
  return { re: addReal(z.re, w.re), im: addReal(z.im, w.im) };
}

export function sub(z: Complex, w: Complex): Complex {
  return { re: subReal(z.re, w.re), im: subReal(z.im, w.im) };
}

export function negate(z: Complex): Complex {
  return { re: negReal(z.re), im: negReal(z.im) };
}

export function mul(z: Complex, w: Complex): Complex {
  if (isReal(z) && isReal(w)) return real(mulReal(z.re, w.re));
  return {
    re: subReal(mulReal(z.re, w.re), mulReal(z.im, w.im)),
    im: addReal(mulReal(z.re, w.im), mulReal(z.im, w.re)),
  };
}

export function div(z: Complex, w: Complex): Complex {
  if (isReal(w)) return { re: divReal(z.re, w.re), im: divReal(z.im, w.re) };
  const norm = addReal(mulReal(w.re, w.re), mulReal(w.im, w.im));
  const product = mul(z, { re: w.re, im: negReal(w.im) });
  return { re: divReal(product.re, norm), im: divReal(product.im, norm) };
}

function integerPower(z: Complex, exponent: bigint): Complex {
  if (exponent < 0n) return div(real(ONE), integerPower(z, -exponent));
  let result = real(ONE);
  let base = z;
  for (let e = exponent; e > 0n; e >>= 1n) {
    if (e & 1n) result = mul(result, base);
    if (e > 1n) base = mul(base, base);
  }
  return result;
}

/** The real `p/q`-th power of a negative number when `q` is odd (`(-8)^{1/3}` is -2). */
function oddRootPower(base: Real, exponent: Fraction): Real | undefined {
  if (exponent.d % 2n === 0n) return undefined;
  const magnitude = realPower(negReal(base), exponent);
  return exponent.n % 2n === 0n ? magnitude : negReal(magnitude);
}

/** `x^y` for real `x >= 0`, exact when the result is rational (`4^{1/2}`, `8^{-2/3}`). */
function realPower(x: Real, y: Real): Real {
  if (isExact(x) && isExact(y)) {
    const estimate = bits(x) * Math.abs(Number(y.n));
    if (estimate <= (x.d === 1n ? MAX_EXACT_BITS : MAX_EXACT_FRACTION_POWER_BITS)) {
      const exact = y.d <= 64n ? x.pow(y) : null;
      if (exact !== null) return exact;
    }
  }
  const base = toPrecise(x);
  if (base.isZero()) {
    if (sign(y) > 0) return ZERO;
    if (sign(y) === 0) return ONE;
    throw new UndefinedValueError("zero to a negative power");
  }
  return base.pow(toPrecise(y));
}

export function power(z: Complex, w: Complex): Complex {
  if (isReal(w) && isExact(w.re) && w.re.d === 1n) {
    // An integer power: exact by repeated squaring when the result stays of a sane size.
    const n = w.re.s < 0n ? -w.re.n : w.re.n;
    const magnitude = Number(w.re.n);
    const { re, im } = z;
    if (isExact(re) && isExact(im)) {
      const size = Math.max(bits(re), bits(im)) * magnitude;
      const integers = re.d === 1n && im.d === 1n;
      if (size <= (integers ? MAX_EXACT_BITS : MAX_EXACT_FRACTION_POWER_BITS)) return integerPower(z, n);
    } else if (magnitude <= 64) return integerPower(z, n);
  }
  if (isReal(z) && isReal(w)) {
    if (sign(z.re) >= 0) return real(realPower(z.re, w.re));
    if (isExact(w.re)) {
      const odd = oddRootPower(z.re, w.re);
      if (odd !== undefined) return real(odd);
    }
  }
  if (isReal(z) && isZero(z.re)) {
    if (sign(w.re) > 0) return real(ZERO);
    throw new UndefinedValueError("zero to a non-positive complex power");
  }
  return exp(mul(w, log(z)));
}

export function exp(z: Complex): Complex {
  if (isReal(z)) {
    if (isZero(z.re)) return real(ONE);
    return real(Precise.exp(toPrecise(z.re)));
  }
  const magnitude = isZero(z.re) ? new Precise(1) : Precise.exp(toPrecise(z.re));
  const angle = toPrecise(z.im);
  return { re: magnitude.times(Precise.cos(angle)), im: magnitude.times(Precise.sin(angle)) };
}

/** The principal natural logarithm. */
export function log(z: Complex): Complex {
  if (isReal(z)) {
    const s = sign(z.re);
    if (s === 0) throw new UndefinedValueError("log of zero");
    if (isExact(z.re) && z.re.equals(1)) return real(ZERO);
    const magnitude = Precise.ln(toPrecise(z.re).abs());
    return s > 0 ? real(magnitude) : { re: magnitude, im: PI };
  }
  const re = toPrecise(z.re);
  const im = toPrecise(z.im);
  return { re: Precise.ln(re.times(re).plus(im.times(im))).div(2), im: Precise.atan2(im, re) };
}

/** `|z|`, exact for real and exact values. */
export function modulus(z: Complex): Complex {
  if (isReal(z)) return real(z.re.abs());
  return power(mul(z, conjugateReal(z)), real(new Fraction(1, 2)));
}

function conjugateReal(z: Complex): Complex {
  return { re: z.re, im: negReal(z.im) };
}

/** A real function of a real argument, evaluated to 40 digits. */
export function applyReal(z: Complex, fn: (x: Precise) => Precise): Complex {
  if (!isReal(z)) throw new UndefinedValueError("real function of a complex number");
  const value = fn(toPrecise(z.re));
  if (value.isNaN()) throw new UndefinedValueError("outside the domain");
  return real(value);
}

export const preciseFunctions: Record<string, (x: Precise) => Precise> = {
  sin: (x) => Precise.sin(x),
  cos: (x) => Precise.cos(x),
  tan: (x) => Precise.tan(x),
  cot: (x) => new Precise(1).div(Precise.tan(x)),
  sec: (x) => new Precise(1).div(Precise.cos(x)),
  csc: (x) => new Precise(1).div(Precise.sin(x)),
  arcsin: (x) => Precise.asin(x),
  arccos: (x) => Precise.acos(x),
  arctan: (x) => Precise.atan(x),
  sinh: (x) => Precise.sinh(x),
  cosh: (x) => Precise.cosh(x),
  tanh: (x) => Precise.tanh(x),
  log: (x) => Precise.log10(x),
};

export const constants = {
  pi: real(PI),
  e: real(Precise.exp(1)),
  i: { re: ZERO, im: ONE } as Complex,
  infinity: real(new Precise(Number.POSITIVE_INFINITY)),
};

/** Floor or ceiling; an approximation within rounding error of an integer counts as that integer. */
export function roundToInteger(z: Complex, mode: "floor" | "ceil"): Complex {
  if (!isReal(z)) throw new UndefinedValueError("floor of a complex number");
  const x = z.re;
  if (isExact(x)) return real(mode === "floor" ? x.floor() : x.ceil());
  if (!x.isFinite()) throw new UndefinedValueError("floor of infinity");
  const nearest = x.toDecimalPlaces(0, Decimal.ROUND_HALF_EVEN);
  const integer = x
    .minus(nearest)
    .abs()
    .lte(ZERO_TOLERANCE.times(nearest.abs().plus(1)))
    ? nearest
    : mode === "floor"
      ? x.floor()
      : x.ceil();
  return real(new Fraction(BigInt(integer.toFixed(0))));
}

function exactNonNegativeInteger(z: Complex, limit: bigint): bigint {
  if (!isReal(z) || !isExact(z.re) || z.re.d !== 1n || z.re.s < 0n || z.re.n > limit)
    throw new UndefinedValueError("not a small non-negative integer");
  return z.re.n;
}

export function factorial(z: Complex): Complex {
  const n = exactNonNegativeInteger(z, 5000n);
  let result = 1n;
  for (let k = 2n; k <= n; k++) result *= k;
  return exactInteger(result);
}

export function binomial(nz: Complex, kz: Complex): Complex {
  const n = exactNonNegativeInteger(nz, 1_000_000n);
  const k = exactNonNegativeInteger(kz, 1_000_000n);
  if (k > n) return exactInteger(0);
  const smaller = 2n * k > n ? n - k : k;
  if (smaller > 5000n) throw new UndefinedValueError("binomial too large");
  let result = 1n;
  for (let j = 1n; j <= smaller; j++) result = (result * (n - smaller + j)) / j;
  return exactInteger(result);
}

export function isFiniteValue(z: Complex): boolean {
  return (isExact(z.re) || z.re.isFinite()) && (isExact(z.im) || z.im.isFinite());
}

/**
 * Equal values: exactly when both are exact, otherwise within a relative 1e-25 of the larger
 * magnitude (values are computed to 40 digits). Infinities are equal only to themselves.
 */
export function valuesEqual(u: Complex, v: Complex): boolean {
  if (isExact(u.re) && isExact(u.im) && isExact(v.re) && isExact(v.im)) {
    return u.re.equals(v.re) && u.im.equals(v.im);
  }
  if (!isFiniteValue(u) || !isFiniteValue(v)) {
    return toPrecise(u.re).eq(toPrecise(v.re)) && toPrecise(u.im).eq(toPrecise(v.im));
  }
  const difference = largestPart(sub(u, v));
  const scale = Precise.max(largestPart(u), largestPart(v));
  if (difference.lte(RELATIVE_TOLERANCE.times(scale))) return true;
  // An approximation of zero (`\sin\pi`, `\ln 1 - 0`) against an exact zero.
  const exactZero = (z: Complex) => isExact(z.re) && isExact(z.im) && isZero(z.re) && isZero(z.im);
  return (exactZero(u) || exactZero(v)) && scale.lte(ZERO_TOLERANCE);
}

function largestPart(z: Complex): Precise {
  return Precise.max(toPrecise(z.re).abs(), toPrecise(z.im).abs());
}

/**
 * Whether a decimal written with `places` digits after the point is `exact` rounded
 * (`0.333` for 1/3, `1.414` for √2).
 */
export function roundsTo(decimalText: string, places: number, exact: Complex): boolean {
  if (!isReal(exact) || !isFiniteValue(exact)) return false;
  const difference = toPrecise(parseDecimal(decimalText)).minus(toPrecise(exact.re)).abs();
  return difference.lte(new Precise(10).pow(-places).times("0.5000000001"));
}

/** A finite real value as a JavaScript number (NaN otherwise). */
export function toNumber(z: Complex): number {
  if (!isReal(z)) return Number.NaN;
  return isExact(z.re) ? z.re.valueOf() : z.re.toNumber();
}

/** A JavaScript number as an exact value (its exact binary value is not wanted: `0.1` is 1/10). */
export function fromNumber(x: number): Complex {
  if (!Number.isFinite(x)) return real(new Precise(x));
  return real(parseDecimal(String(x)));
}

/** A plain decimal, exactly: `1,000` and `1000.00` are the same number. */
export function exactDecimal(text: string): Fraction | undefined {
  try {
    return parseDecimal(text);
  } catch {
    return undefined;
  }
}
