import { describe, expect, it } from "vitest";

type CpuVariant = (cmakeLists: string, flags: string[], arch?: string) => string | undefined;
// A plain .mjs script (run by npm before the build), loaded by path.
const tool = "../../tools/build-engine.mjs";
const { cpuVariant } = (await import(tool)) as { cpuVariant: CpuVariant };

// The x86 lines of the release's ggml/src/CMakeLists.txt.
const variants = `
    ggml_add_cpu_backend_variant(x64)
    ggml_add_cpu_backend_variant(sse42              SSE42)
    ggml_add_cpu_backend_variant(sandybridge        SSE42 AVX)
    ggml_add_cpu_backend_variant(haswell            SSE42 AVX F16C FMA AVX2 BMI2)
    ggml_add_cpu_backend_variant(skylakex           SSE42 AVX F16C FMA AVX2 BMI2 AVX512)
    ggml_add_cpu_backend_variant(icelake            SSE42 AVX F16C FMA AVX2 BMI2 AVX512 AVX512_VBMI AVX512_VNNI)
    ggml_add_cpu_backend_variant(zen4           SSE42 AVX F16C FMA AVX2 BMI2 AVX512 AVX512_VBMI AVX512_VNNI AVX512_BF16)
    ggml_add_cpu_backend_variant(alderlake          SSE42 AVX F16C FMA AVX2 BMI2 AVX_VNNI)
    ggml_add_cpu_backend_variant(sapphirerapids SSE42 AVX F16C FMA AVX2 BMI2 AVX512 AVX512_VBMI AVX512_VNNI AVX512_BF16 AMX_TILE AMX_INT8)
    ggml_add_cpu_backend_variant(armv8.2_1    DOTPROD)
`;
const haswell = ["sse4_2", "avx", "f16c", "fma", "avx2", "bmi2"];
const avx512 = ["avx512f", "avx512cd", "avx512vl", "avx512dq", "avx512bw"];

describe("the CPU kernels tools/build-engine.mjs compiles", () => {
  it("are the variant with the most features this CPU has, as ggml's loader picks", () => {
    const sapphireRapids = [
      ...haswell,
      ...avx512,
      "avx512vbmi",
      "avx512_vnni",
      "avx512_bf16",
      "amx_tile",
      "amx_int8",
    ];
    expect(cpuVariant(variants, sapphireRapids)).toBe("sapphirerapids");
    expect(
      cpuVariant(
        variants,
        sapphireRapids.filter((f) => !f.startsWith("amx")),
      ),
    ).toBe("zen4");
    expect(cpuVariant(variants, [...haswell, "avx_vnni"])).toBe("alderlake");
    expect(cpuVariant(variants, haswell)).toBe("haswell");
    // AVX-512 needs all of its parts that the variant is compiled with.
    expect(cpuVariant(variants, [...haswell, "avx512f"])).toBe("haswell");
    expect(cpuVariant(variants, [])).toBe("x64");
  });

  it("are left prebuilt off x64", () => {
    expect(cpuVariant(variants, haswell, "arm64")).toBeUndefined();
  });
});
