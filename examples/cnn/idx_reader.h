//===- idx_reader.h - MNIST's IDX files, gzip-compressed ------------------===//
//
// Fashion-MNIST as Debian's dataset-fashion-mnist ships it: four
// gzip-compressed IDX files in /usr/share/datasets/fashion-mnist. An IDX
// file is a big-endian header (magic 0x00000803 for images [count, rows,
// cols] of bytes, 0x00000801 for labels [count]) followed by the bytes. A
// missing, corrupt or truncated file is an error naming the file and what
// was wrong, never a crash.
//
//===----------------------------------------------------------------------===//
#pragma once

#include <zlib.h>

#include <cstdint>
#include <string>
#include <vector>

namespace fashion {

struct Images {
  int64_t count = 0, rows = 0, cols = 0;
  std::vector<uint8_t> pixels; // count x rows x cols
};

/// The whole decompressed file, or an error message in `error`.
inline std::vector<uint8_t> gunzip(const std::string &path, std::string &error) {
  std::vector<uint8_t> bytes;
  gzFile f = gzopen(path.c_str(), "rb");
  if (!f) {
    error = path + ": cannot open (Debian's dataset-fashion-mnist has it: apt-get install dataset-fashion-mnist)";
    return bytes;
  }
  uint8_t chunk[1 << 16];
  for (;;) {
    int n = gzread(f, chunk, sizeof chunk);
    if (n < 0) {
      int code = 0;
      error = path + ": not a readable gzip file (" + gzerror(f, &code) + ")";
      gzclose(f);
      return {};
    }
    if (n == 0)
      break;
    bytes.insert(bytes.end(), chunk, chunk + n);
  }
  // gzread stops quietly at a truncated stream; gzclose_r reports it.
  if (int status = gzclose(f); status != Z_OK) {
    error = path + ": the gzip stream is truncated or corrupt (zlib status " + std::to_string(status) + ")";
    return {};
  }
  return bytes;
}

inline uint32_t bigEndian32(const uint8_t *p) {
  return uint32_t(p[0]) << 24 | uint32_t(p[1]) << 16 | uint32_t(p[2]) << 8 | uint32_t(p[3]);
}

inline bool readImages(const std::string &path, Images &out, std::string &error) {
  std::vector<uint8_t> bytes = gunzip(path, error);
  if (!error.empty())
    return false;
  if (bytes.size() < 16 || bigEndian32(bytes.data()) != 0x803) {
    error = path + ": not an IDX image file (expected magic 0x00000803 and a 16-byte header)";
    return false;
  }
  out.count = bigEndian32(bytes.data() + 4), out.rows = bigEndian32(bytes.data() + 8),
  out.cols = bigEndian32(bytes.data() + 12);
  uint64_t expected = 16 + uint64_t(out.count) * uint64_t(out.rows) * uint64_t(out.cols);
  if (out.rows != 28 || out.cols != 28) {
    error = path + ": images are " + std::to_string(out.rows) + "x" + std::to_string(out.cols) + ", expected 28x28";
    return false;
  }
  if (bytes.size() != expected) {
    error = path + ": holds " + std::to_string(bytes.size()) + " bytes, its header promises " +
            std::to_string(expected) + " (" + std::to_string(out.count) + " images): truncated or corrupt";
    return false;
  }
  out.pixels.assign(bytes.begin() + 16, bytes.end());
  return true;
}

inline bool readLabels(const std::string &path, std::vector<uint8_t> &out, std::string &error) {
  std::vector<uint8_t> bytes = gunzip(path, error);
  if (!error.empty())
    return false;
  if (bytes.size() < 8 || bigEndian32(bytes.data()) != 0x801) {
    error = path + ": not an IDX label file (expected magic 0x00000801 and an 8-byte header)";
    return false;
  }
  uint64_t count = bigEndian32(bytes.data() + 4);
  if (bytes.size() != 8 + count) {
    error = path + ": holds " + std::to_string(bytes.size()) + " bytes, its header promises " +
            std::to_string(8 + count) + ": truncated or corrupt";
    return false;
  }
  out.assign(bytes.begin() + 8, bytes.end());
  for (uint8_t label : out)
    if (label > 9) {
      error = path + ": label " + std::to_string(label) + " is not a class (0-9)";
      return false;
    }
  return true;
}

/// The training or test split: images and their labels, checked to agree.
struct Split {
  Images images;
  std::vector<uint8_t> labels;
};

inline bool readSplit(const std::string &dir, const std::string &prefix, Split &out, std::string &error) {
  if (!readImages(dir + "/" + prefix + "-images-idx3-ubyte.gz", out.images, error) ||
      !readLabels(dir + "/" + prefix + "-labels-idx1-ubyte.gz", out.labels, error))
    return false;
  if (int64_t(out.labels.size()) != out.images.count) {
    error = dir + "/" + prefix + ": " + std::to_string(out.images.count) + " images but " +
            std::to_string(out.labels.size()) + " labels";
    return false;
  }
  return true;
}

inline const char *className(int c) {
  static const char *names[] = {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                                "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};
  return c >= 0 && c < 10 ? names[c] : "?";
}

} // namespace fashion
