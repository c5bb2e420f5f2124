/** The value of a parsed LaTeX expression: exact where it can be, 40 digits where it cannot. */
import Fraction from "fraction.js";
import type { Expression } from "./latex-expression.js";
import {
  add,
  applyReal,
  binomial,
  type Complex,
  constants,
  div,
  exp,
  factorial,
  fromNumber,
  isReal,
  log,
  modulus,
  mul,
  negate,
  parseDecimal,
  power,
  preciseFunctions,
  real,
  roundToInteger,
  sub,
  toNumber,
  toPrecise,
  UndefinedValueError,
} from "./math-number.js";

/** The value at the given point, or undefined where the expression is undefined there. */
export function evaluateValue(
  expression: Expression,
  values: ReadonlyMap<string, Complex>,
): Complex | undefined {
  try {
    return evaluate(expression, values);
  } catch {
    return undefined;
  }
}

/** Real-valued evaluation with JavaScript numbers; NaN where undefined or not real. */
export function evaluateExpression(expression: Expression, values: ReadonlyMap<string, number>): number {
  const exact = new Map([...values].map(([name, value]) => [name, fromNumber(value)] as const));
  const value = evaluateValue(expression, exact);
  return value === undefined ? Number.NaN : toNumber(value);
}

const HALF = real(new Fraction(1, 2));

function evaluate(expression: Expression, values: ReadonlyMap<string, Complex>): Complex {
  switch (expression.kind) {
    case "number":
      return real(parseDecimal(expression.text));
    case "constant":
      return constants[expression.name];
    case "variable": {
      const value = values.get(expression.name);
      if (!value) throw new UndefinedValueError(`no value for ${expression.name}`);
      return value;
    }
    case "negate":
      return negate(evaluate(expression.operand, values));
    case "factorial":
      return factorial(evaluate(expression.operand, values));
    case "binomial":
      return binomial(evaluate(expression.n, values), evaluate(expression.k, values));
    case "round":
      return roundToInteger(evaluate(expression.operand, values), expression.mode);
    case "extremum":
      return extremum(
        expression.items.map((item) => evaluate(item, values)),
        expression.mode,
      );
    case "apply":
      return unknownFunction(expression.fn, evaluate(expression.argument, values));
    case "call":
      return callFunction(expression.fn, evaluate(expression.argument, values));
    case "root": {
      const radicand = evaluate(expression.radicand, values);
      const index = evaluate(expression.index, values);
      // `\sqrt{-4}` is 2i, exactly.
      if (
        isReal(radicand) &&
        isNegative(radicand) &&
        expression.index.kind === "number" &&
        expression.index.text === "2"
      )
        return mul(constants.i, power(negate(radicand), HALF));
      return power(radicand, div(real(new Fraction(1)), index));
    }
    case "binary": {
      if (expression.op === "^" && expression.left.kind === "constant" && expression.left.name === "e")
        return exp(evaluate(expression.right, values));
      const left = evaluate(expression.left, values);
      const right = evaluate(expression.right, values);
      switch (expression.op) {
        case "+":
          return add(left, right);
        case "-":
          return sub(left, right);
        case "*":
          return mul(left, right);
        case "/":
          return div(left, right);
        case "^":
          return power(left, right);
      }
    }
  }
}

/** The largest or smallest of real values. */
function extremum(items: Complex[], mode: "max" | "min"): Complex {
  if (!items.every(isReal)) throw new UndefinedValueError("max of complex numbers");
  return items.reduce((best, item) => {
    const order = toPrecise(item.re).cmp(toPrecise(best.re));
    return (mode === "max" ? order > 0 : order < 0) ? item : best;
  });
}

function isNegative(z: Complex): boolean {
  return toNumber(z) < 0;
}

function callFunction(name: string, argument: Complex): Complex {
  if (name === "exp") return exp(argument);
  if (name === "ln") return log(argument);
  if (name === "abs") return modulus(argument);
  const fn = preciseFunctions[name];
  if (!fn) throw new UndefinedValueError(`unknown function ${name}`);
  return applyReal(argument, fn);
}

const COEFFICIENTS = new Map<string, Complex[]>();

/**
 * A fixed, arbitrary cubic with irrational coefficients stands for an unknown function, so
 * that `f(0)` differs from `0`, from `f(1)` and from `g(0)`, while `f(2)` equals `f(1+1)`.
 */
function unknownFunction(name: string, argument: Complex): Complex {
  let coefficients = COEFFICIENTS.get(name);
  if (!coefficients) {
    const seed = name.charCodeAt(0);
    coefficients = [2, 3, 5, 7].map((prime) => power(real(new Fraction(prime * 1000 + seed)), HALF));
    COEFFICIENTS.set(name, coefficients);
  }
  let result = real(new Fraction(0));
  for (const coefficient of [...coefficients].reverse()) result = add(mul(result, argument), coefficient);
  return result;
}
