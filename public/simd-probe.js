// Whether this engine has relaxed SIMD: a module of one function holding
// `i32x4.relaxed_dot_i8x16_i7x16_add_s` validates only where it does (a module
// with an unknown instruction fails as a whole, so the workers' relaxed builds
// are separate files). Sets `self.relaxedSimd` for the loaders: a classic
// worker takes this with importScripts, a module worker with import.
{
  const zeros = new Array(16).fill(0);
  const v128Const = [0xfd, 0x0c, ...zeros];
  // No locals; three v128 constants; the relaxed dot product (0xfd 0x113); end.
  const body = [0x00, ...v128Const, ...v128Const, ...v128Const, 0xfd, 0x93, 0x02, 0x0b];
  const module = new Uint8Array([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // "\0asm", version 1
    0x01, 0x05, 0x01, 0x60, 0x00, 0x01, 0x7b, // one type: [] -> [v128]
    0x03, 0x02, 0x01, 0x00, // one function of that type
    0x0a, body.length + 2, 0x01, body.length, ...body, // its code
  ]);
  self.relaxedSimd = WebAssembly.validate(module);
}
