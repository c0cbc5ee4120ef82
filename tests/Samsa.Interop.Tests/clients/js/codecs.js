// kafkajs ships gzip only; snappy, lz4 and zstd come as codec plugins: { compress(encoder), decompress(buffer) }.
//   snappy: kafkajs-snappy (pure JS; reads xerial framing as Java clients write it)
//   lz4:    lz4-napi (prebuilt binaries published on npm, no compiler or network at run time), standard LZ4 frames
//   zstd:   @bokuweb/zstd-wasm compresses (WebAssembly), fzstd decompresses (pure JS, streaming, so frames
//           without a content size, as Java's zstd-jni writes them, are read too)
const SnappyCodec = require('kafkajs-snappy');
const lz4 = require('lz4-napi');
const zstdWasm = require('@bokuweb/zstd-wasm');
const fzstd = require('fzstd');

module.exports = async (CompressionTypes, CompressionCodecs) => {
  await zstdWasm.init();
  CompressionCodecs[CompressionTypes.Snappy] = SnappyCodec;
  CompressionCodecs[CompressionTypes.LZ4] = () => ({
    compress: encoder => lz4.compressFrame(encoder.buffer),
    decompress: buffer => lz4.decompressFrame(buffer),
  });
  CompressionCodecs[CompressionTypes.ZSTD] = () => ({
    compress: async encoder => Buffer.from(zstdWasm.compress(encoder.buffer, 3)),
    decompress: async buffer => Buffer.from(fzstd.decompress(buffer)),
  });
};
