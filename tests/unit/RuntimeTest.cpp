// Tests of the C runtime (runtime/kiln_rt.h): status strings, aligned
// allocation, .npy reading and writing, and the deterministic initializers.
#include "kiln_rt.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <algorithm>
#include <atomic>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include <sys/wait.h>
#include <unistd.h>

namespace {

// A fresh directory per test (under gtest's TempDir) so parallel runs and
// reruns never see each other's files; removed with its files afterwards.
class RuntimeTest : public ::testing::Test {
protected:
  void SetUp() override {
    std::string tmpl = ::testing::TempDir();
    if (tmpl.empty() || tmpl.back() != '/')
      tmpl += '/';
    tmpl += "kiln_rt_XXXXXX";
    std::vector<char> buf(tmpl.begin(), tmpl.end());
    buf.push_back('\0');
    ASSERT_NE(mkdtemp(buf.data()), nullptr) << "mkdtemp " << tmpl;
    dir_ = buf.data();
  }

  void TearDown() override {
    for (const std::string &f : files_)
      std::remove(f.c_str());
    if (!dir_.empty())
      rmdir(dir_.c_str());
  }

  std::string path(const std::string &name) {
    std::string p = dir_ + "/" + name;
    files_.push_back(p);
    return p;
  }

  // Writes raw bytes, for hand-made and broken files.
  std::string writeBytes(const std::string &name, const std::string &bytes) {
    std::string p = path(name);
    FILE *f = std::fopen(p.c_str(), "wb");
    EXPECT_NE(f, nullptr);
    if (f) {
      EXPECT_EQ(std::fwrite(bytes.data(), 1, bytes.size(), f), bytes.size());
      std::fclose(f);
    }
    return p;
  }

  static std::string readBytes(const std::string &p) {
    std::string out;
    FILE *f = std::fopen(p.c_str(), "rb");
    if (!f)
      return out;
    char buf[4096];
    size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, f)) > 0)
      out.append(buf, n);
    std::fclose(f);
    return out;
  }

  // A .npy file with the given version and header text (padded to 64 like
  // numpy) followed by `data`.
  std::string npyFile(const std::string &name, int major, const std::string &dict,
                      const std::string &data) {
    size_t prefix = major == 1 ? 10 : 12;
    std::string header = dict;
    while ((prefix + header.size() + 1) % 64 != 0)
      header += ' ';
    header += '\n';
    std::string bytes("\x93NUMPY", 6);
    bytes += static_cast<char>(major);
    bytes += '\0';
    uint32_t len = static_cast<uint32_t>(header.size());
    for (size_t i = 0; i < prefix - 8; ++i)
      bytes += static_cast<char>((len >> (8 * i)) & 0xff);
    return writeBytes(name, bytes + header + data);
  }

  std::string dir_;
  std::vector<std::string> files_;
};

// Reads `p` expecting failure `status`; returns the message.
std::string readError(const std::string &p, int32_t status) {
  kiln_npy npy;
  char err[512];
  std::memset(err, 'x', sizeof err);
  int32_t st = kiln_npy_read(p.c_str(), &npy, err, sizeof err);
  EXPECT_EQ(st, status) << err;
  EXPECT_EQ(npy.data, nullptr);
  EXPECT_NE(std::memchr(err, '\0', sizeof err), nullptr);
  std::string msg(err);
  EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
  EXPECT_NE(msg.find(p), std::string::npos) << "message does not name the file: " << msg;
  kiln_npy_free(&npy);
  return msg;
}

std::string f32Bytes(std::initializer_list<float> values) {
  std::string s;
  for (float v : values)
    s.append(reinterpret_cast<const char *>(&v), sizeof v);
  return s;
}

// ---- status and dtype helpers ---------------------------------------------

TEST(RuntimeStatus, Strings) {
  EXPECT_STREQ(kiln_strerror(KILN_OK), "ok");
  for (int32_t s = KILN_ERR_NULL_BUFFER; s <= KILN_ERR_INVALID_ARGUMENT; ++s) {
    ASSERT_NE(kiln_strerror(s), nullptr);
    EXPECT_STRNE(kiln_strerror(s), "unknown error") << s;
  }
  EXPECT_STREQ(kiln_strerror(-1), "unknown error");
  EXPECT_STREQ(kiln_strerror(1000), "unknown error");
}

TEST(RuntimeStatus, Dtypes) {
  EXPECT_EQ(kiln_dtype_size(KILN_F32), 4u);
  EXPECT_EQ(kiln_dtype_size(KILN_F64), 8u);
  EXPECT_EQ(kiln_dtype_size(KILN_I32), 4u);
  EXPECT_EQ(kiln_dtype_size(KILN_I64), 8u);
  EXPECT_EQ(kiln_dtype_size(KILN_BOOL), 1u);
  EXPECT_EQ(kiln_dtype_size(static_cast<kiln_dtype>(99)), 0u);
  EXPECT_STREQ(kiln_dtype_name(KILN_F32), "f32");
  EXPECT_STREQ(kiln_dtype_name(KILN_F64), "f64");
  EXPECT_STREQ(kiln_dtype_name(KILN_I32), "i32");
  EXPECT_STREQ(kiln_dtype_name(KILN_I64), "i64");
  EXPECT_STREQ(kiln_dtype_name(KILN_BOOL), "bool");
}

TEST(RuntimeStatus, ContextInit) {
  kiln_context ctx;
  std::memset(&ctx, 0xab, sizeof ctx);
  kiln_context_init(&ctx);
  EXPECT_EQ(ctx.status, KILN_OK);
  EXPECT_EQ(ctx.num_threads, 0);
  for (void *p : ctx.reserved)
    EXPECT_EQ(p, nullptr);
}

// ---- allocation ----------------------------------------------------------------

TEST(RuntimeAlloc, AlignedAndUnique) {
  for (size_t bytes : {0, 1, 63, 64, 65, 1000, 1 << 20}) {
    void *p = kiln_alloc(bytes);
    ASSERT_NE(p, nullptr) << bytes;
    EXPECT_EQ(reinterpret_cast<uintptr_t>(p) % KILN_ALIGNMENT, 0u) << bytes;
    std::memset(p, 0x5a, bytes);
    kiln_free(p);
  }
  void *a = kiln_alloc(0);
  void *b = kiln_alloc(0);
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  EXPECT_NE(a, b);
  kiln_free(a);
  kiln_free(b);
  kiln_free(nullptr);
  EXPECT_EQ(kiln_alloc(SIZE_MAX), nullptr);
}

// ---- .npy round trips --------------------------------------------------------

TEST_F(RuntimeTest, NpyRoundTripEveryDtypeAndShape) {
  const std::vector<std::vector<int64_t>> shapes = {{}, {1}, {3, 7}, {2, 1, 5}};
  const kiln_dtype dtypes[] = {KILN_F32, KILN_F64, KILN_I32, KILN_I64, KILN_BOOL};
  int file = 0;
  for (kiln_dtype dt : dtypes) {
    for (const auto &shape : shapes) {
      SCOPED_TRACE(std::string(kiln_dtype_name(dt)) + " rank " + std::to_string(shape.size()));
      int64_t count = 1;
      for (int64_t d : shape)
        count *= d;
      size_t item = kiln_dtype_size(dt);
      std::vector<unsigned char> data(static_cast<size_t>(count) * item);
      for (int64_t i = 0; i < count; ++i) {
        unsigned char *e = data.data() + i * item;
        switch (dt) {
        case KILN_F32: {
          float v = 0.5f * static_cast<float>(i) - 3.25f;
          std::memcpy(e, &v, sizeof v);
          break;
        }
        case KILN_F64: {
          double v = -1e300 + static_cast<double>(i) * 1e299;
          std::memcpy(e, &v, sizeof v);
          break;
        }
        case KILN_I32: {
          int32_t v = static_cast<int32_t>(i * 100003) - 7;
          std::memcpy(e, &v, sizeof v);
          break;
        }
        case KILN_I64: {
          int64_t v = (int64_t{1} << 40) * (i - 5) + 3;
          std::memcpy(e, &v, sizeof v);
          break;
        }
        case KILN_BOOL:
          *e = static_cast<unsigned char>(i % 3 == 0);
          break;
        }
      }

      std::string p = path("rt" + std::to_string(file++) + ".npy");
      char err[256] = "";
      ASSERT_EQ(kiln_npy_write(p.c_str(), dt, static_cast<int32_t>(shape.size()),
                               shape.empty() ? nullptr : shape.data(), data.data(), err,
                               sizeof err),
                KILN_OK)
          << err;

      // numpy's layout: version 1.0, data at a multiple of 64, nothing after.
      std::string bytes = readBytes(p);
      ASSERT_GE(bytes.size(), 10u);
      EXPECT_EQ(bytes.substr(0, 8), std::string("\x93NUMPY\x01\x00", 8));
      size_t hlen = static_cast<unsigned char>(bytes[8]) |
                    static_cast<size_t>(static_cast<unsigned char>(bytes[9])) << 8;
      EXPECT_EQ((10 + hlen) % 64, 0u);
      EXPECT_EQ(bytes[10 + hlen - 1], '\n');
      EXPECT_EQ(bytes.size(), 10 + hlen + data.size());

      kiln_npy npy;
      ASSERT_EQ(kiln_npy_read(p.c_str(), &npy, err, sizeof err), KILN_OK) << err;
      EXPECT_EQ(npy.dtype, dt);
      ASSERT_EQ(npy.rank, static_cast<int32_t>(shape.size()));
      for (size_t i = 0; i < shape.size(); ++i)
        EXPECT_EQ(npy.shape[i], shape[i]);
      ASSERT_NE(npy.data, nullptr);
      EXPECT_EQ(reinterpret_cast<uintptr_t>(npy.data) % KILN_ALIGNMENT, 0u);
      EXPECT_EQ(std::memcmp(npy.data, data.data(), data.size()), 0);
      kiln_npy_free(&npy);
      EXPECT_EQ(npy.data, nullptr);
    }
  }
}

TEST_F(RuntimeTest, NpyZeroElements) {
  const int64_t shape[] = {4, 0, 3};
  std::string p = path("empty.npy");
  char err[256] = "";
  ASSERT_EQ(kiln_npy_write(p.c_str(), KILN_F32, 3, shape, nullptr, err, sizeof err), KILN_OK)
      << err;
  kiln_npy npy;
  ASSERT_EQ(kiln_npy_read(p.c_str(), &npy, err, sizeof err), KILN_OK) << err;
  EXPECT_EQ(npy.rank, 3);
  EXPECT_EQ(npy.shape[1], 0);
  ASSERT_NE(npy.data, nullptr); // still a valid aligned buffer
  EXPECT_EQ(reinterpret_cast<uintptr_t>(npy.data) % KILN_ALIGNMENT, 0u);
  kiln_npy_free(&npy);
}

TEST_F(RuntimeTest, NpyBoolNormalised) {
  std::string p = npyFile("bool.npy", 1, "{'descr': '|b1', 'fortran_order': False, 'shape': (4,), }",
                          std::string("\x00\x02\xff\x01", 4));
  kiln_npy npy;
  char err[256] = "";
  ASSERT_EQ(kiln_npy_read(p.c_str(), &npy, err, sizeof err), KILN_OK) << err;
  EXPECT_EQ(npy.dtype, KILN_BOOL);
  const unsigned char *b = static_cast<const unsigned char *>(npy.data);
  EXPECT_EQ(b[0], 0);
  EXPECT_EQ(b[1], 1);
  EXPECT_EQ(b[2], 1);
  EXPECT_EQ(b[3], 1);
  kiln_npy_free(&npy);

  // Writing normalises too.
  const unsigned char raw[3] = {7, 0, 200};
  const int64_t shape[] = {3};
  std::string q = path("bool_w.npy");
  ASSERT_EQ(kiln_npy_write(q.c_str(), KILN_BOOL, 1, shape, raw, err, sizeof err), KILN_OK);
  std::string bytes = readBytes(q);
  EXPECT_EQ(bytes.substr(bytes.size() - 3), std::string("\x01\x00\x01", 3));
}

TEST_F(RuntimeTest, NpyVersion2Header) {
  // Keys out of order, double quotes, odd spacing, no trailing comma.
  std::string data;
  for (int32_t v : {1, -2, 3, -4, 5, -6})
    data.append(reinterpret_cast<const char *>(&v), sizeof v);
  std::string p = npyFile("v2.npy", 2,
                          "{ \"shape\" :(2,3) ,'fortran_order':False,\t'descr':'<i4'}", data);
  kiln_npy npy;
  char err[256] = "";
  ASSERT_EQ(kiln_npy_read(p.c_str(), &npy, err, sizeof err), KILN_OK) << err;
  EXPECT_EQ(npy.dtype, KILN_I32);
  ASSERT_EQ(npy.rank, 2);
  EXPECT_EQ(npy.shape[0], 2);
  EXPECT_EQ(npy.shape[1], 3);
  EXPECT_EQ(std::memcmp(npy.data, data.data(), data.size()), 0);
  kiln_npy_free(&npy);
}

TEST_F(RuntimeTest, NpyVersion3AndShapeSpellings) {
  struct Case {
    const char *shape;
    int32_t rank;
    int64_t count;
  } cases[] = {{"()", 0, 1},         {"(3,)", 1, 3},       {"( 3 , )", 1, 3},
               {"(2, 3)", 2, 6},     {"(2, 3,)", 2, 6},    {"(1, 2, 1, 1)", 4, 2},
               {"(2L, 2L)", 2, 4}};
  int i = 0;
  for (const Case &c : cases) {
    SCOPED_TRACE(c.shape);
    std::string data(static_cast<size_t>(c.count) * 8, '\x11');
    std::string p = npyFile("v3_" + std::to_string(i++) + ".npy", 3,
                            std::string("{'descr': '<f8', 'shape': ") + c.shape +
                                ", 'fortran_order': False, }",
                            data);
    kiln_npy npy;
    char err[256] = "";
    ASSERT_EQ(kiln_npy_read(p.c_str(), &npy, err, sizeof err), KILN_OK) << err;
    EXPECT_EQ(npy.dtype, KILN_F64);
    EXPECT_EQ(npy.rank, c.rank);
    kiln_npy_free(&npy);
  }
}

// ---- .npy errors ---------------------------------------------------------------

TEST_F(RuntimeTest, NpyMissingFile) {
  std::string p = path("does_not_exist.npy");
  std::string msg = readError(p, KILN_ERR_IO);
  EXPECT_NE(msg.find("does_not_exist.npy"), std::string::npos);
}

TEST_F(RuntimeTest, NpyBadMagic) {
  std::string p = writeBytes("magic.npy", "PK\x03\x04 this is a zip file, not an array");
  EXPECT_NE(readError(p, KILN_ERR_FORMAT).find("bad magic"), std::string::npos);
  std::string e = writeBytes("empty_file.npy", "");
  readError(e, KILN_ERR_FORMAT);
  std::string s = writeBytes("short.npy", std::string("\x93NUM", 4));
  readError(s, KILN_ERR_FORMAT);
}

TEST_F(RuntimeTest, NpyTruncatedAndTrailingData) {
  const char *dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2), }";
  std::string t = npyFile("trunc.npy", 1, dict, f32Bytes({1, 2, 3}));
  EXPECT_NE(readError(t, KILN_ERR_FORMAT).find("truncated"), std::string::npos);
  std::string x = npyFile("extra.npy", 1, dict, f32Bytes({1, 2, 3, 4, 5}));
  readError(x, KILN_ERR_FORMAT);
  // A header length past the end of the file.
  std::string h = writeBytes("hdr.npy", std::string("\x93NUMPY\x01\x00\xff\x7f{'descr'", 17));
  readError(h, KILN_ERR_FORMAT);
  // A 4 GiB version-2.0 header length must not be allocated.
  std::string g = writeBytes("huge.npy", std::string("\x93NUMPY\x02\x00\xff\xff\xff\xff{}", 14));
  readError(g, KILN_ERR_FORMAT);
}

TEST_F(RuntimeTest, NpyFortranOrder) {
  std::string p = npyFile("fortran.npy", 1,
                          "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2), }",
                          f32Bytes({1, 2, 3, 4}));
  EXPECT_NE(readError(p, KILN_ERR_FORMAT).find("fortran_order"), std::string::npos);
}

TEST_F(RuntimeTest, NpyUnsupportedDtypes) {
  std::string be = npyFile("be.npy", 1, "{'descr': '>f4', 'fortran_order': False, 'shape': (1,), }",
                           f32Bytes({1}));
  std::string msg = readError(be, KILN_ERR_DTYPE);
  EXPECT_NE(msg.find("'>f4'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("big-endian"), std::string::npos) << msg;

  std::string u2 = npyFile("u2.npy", 1, "{'descr': '<u2', 'fortran_order': False, 'shape': (2,), }",
                           std::string(4, '\0'));
  msg = readError(u2, KILN_ERR_DTYPE);
  EXPECT_NE(msg.find("'<u2'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("<f4"), std::string::npos) << msg; // lists what kiln reads

  std::string st = npyFile(
      "struct.npy", 1,
      "{'descr': [('a', '<f4'), ('b', '<i4')], 'fortran_order': False, 'shape': (1,), }",
      std::string(8, '\0'));
  readError(st, KILN_ERR_DTYPE);
}

TEST_F(RuntimeTest, NpyBadShapes) {
  std::string rank17 = "(";
  for (int i = 0; i < 17; ++i)
    rank17 += "1, ";
  rank17 += ")";
  std::string p = npyFile("rank17.npy", 1,
                          "{'descr': '<f4', 'fortran_order': False, 'shape': " + rank17 + ", }",
                          f32Bytes({1}));
  EXPECT_NE(readError(p, KILN_ERR_FORMAT).find("17"), std::string::npos);

  const char *bad[] = {
      "(-1, 2)",                                  // negative
      "(4294967296, 4294967296, 4294967296)",     // product overflows
      "(99999999999999999999,)",                  // dimension overflows int64
      "(2 3)", "[2, 3]", "(2, 'a')", "(,)", "(2,,)", "(2, 3",
  };
  int i = 0;
  for (const char *s : bad) {
    SCOPED_TRACE(s);
    std::string q = npyFile("bad" + std::to_string(i++) + ".npy", 1,
                            std::string("{'descr': '<f4', 'fortran_order': False, 'shape': ") + s +
                                ", }",
                            f32Bytes({1, 2, 3, 4, 5, 6}));
    readError(q, KILN_ERR_FORMAT);
  }
}

TEST_F(RuntimeTest, NpyMalformedHeaders) {
  const char *bad[] = {
      "",
      "{",
      "{}",
      "{'descr': '<f4', 'fortran_order': False}",                             // no shape
      "{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': ()}", // repeated
      "{'descr': '<f4', 'fortran_order': False, 'shape': (), 'extra': 1}",
      "{'descr': '<f4', 'fortran_order': 0, 'shape': ()}",
      "{'descr': '<f4', 'fortran_order': Falsey, 'shape': ()}",
      "{'descr': '<f4' 'fortran_order': False, 'shape': ()}",
      "{'descr': '<f4', 'fortran_order': False, 'shape': ()} junk",
      "{'descr: '<f4', 'fortran_order': False, 'shape': ()}",
      "{'descr': '<f\\4', 'fortran_order': False, 'shape': ()}",
  };
  int i = 0;
  for (const char *s : bad) {
    SCOPED_TRACE(s);
    std::string p = npyFile("m" + std::to_string(i++) + ".npy", 1, s, f32Bytes({1}));
    kiln_npy npy;
    char err[256];
    int32_t st = kiln_npy_read(p.c_str(), &npy, err, sizeof err);
    EXPECT_TRUE(st == KILN_ERR_FORMAT || st == KILN_ERR_DTYPE) << st << " " << err;
    EXPECT_EQ(npy.data, nullptr);
  }
  // Unsupported versions.
  std::string v4 = writeBytes("v4.npy", std::string("\x93NUMPY\x04\x00\x00\x00", 10));
  readError(v4, KILN_ERR_FORMAT);
  std::string v11 = writeBytes("v11.npy", std::string("\x93NUMPY\x01\x01\x00\x00", 10));
  readError(v11, KILN_ERR_FORMAT);
}

TEST_F(RuntimeTest, NpyErrorBufferIsBounded) {
  std::string p = path("missing_with_a_rather_long_name.npy");
  kiln_npy npy;
  char err[8];
  std::memset(err, 'x', sizeof err);
  EXPECT_EQ(kiln_npy_read(p.c_str(), &npy, err, sizeof err), KILN_ERR_IO);
  EXPECT_EQ(err[7], '\0');
  EXPECT_EQ(kiln_npy_read(p.c_str(), &npy, nullptr, 0), KILN_ERR_IO);
}

TEST_F(RuntimeTest, NpyWriteErrors) {
  char err[256];
  const int64_t shape[] = {2};
  const float data[2] = {1, 2};
  std::string bad = dir_ + "/no_such_dir/x.npy";
  EXPECT_EQ(kiln_npy_write(bad.c_str(), KILN_F32, 1, shape, data, err, sizeof err), KILN_ERR_IO);
  EXPECT_NE(std::string(err).find(bad), std::string::npos) << err;
  std::string p = path("w.npy");
  EXPECT_NE(kiln_npy_write(p.c_str(), KILN_F32, 17, shape, data, err, sizeof err), KILN_OK);
  const int64_t neg[] = {-1};
  EXPECT_NE(kiln_npy_write(p.c_str(), KILN_F32, 1, neg, data, err, sizeof err), KILN_OK);
  EXPECT_NE(kiln_npy_write(p.c_str(), static_cast<kiln_dtype>(9), 1, shape, data, err, sizeof err),
            KILN_OK);
  EXPECT_NE(kiln_npy_write(p.c_str(), KILN_F32, 1, shape, nullptr, err, sizeof err), KILN_OK);
}

// Random mutations of a valid file must fail cleanly or succeed, never
// crash or read out of bounds (run under valgrind / ASan to see the latter).
TEST_F(RuntimeTest, NpyMutationsDoNotCrash) {
  std::string data;
  for (int i = 0; i < 6; ++i)
    data += f32Bytes({static_cast<float>(i)});
  std::string good = std::string("\x93NUMPY\x01\x00", 8);
  std::string header = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }";
  while ((10 + header.size() + 1) % 64)
    header += ' ';
  header += '\n';
  good += static_cast<char>(header.size() & 0xff);
  good += static_cast<char>(header.size() >> 8);
  good += header + data;

  std::mt19937 gen(12345);
  const std::string p = path("mut.npy");
  const char interesting[] = "(),:'\"{}0123456789-<>|=bfiuTF \n\xff";
  for (int iter = 0; iter < 500; ++iter) {
    std::string m = good;
    int edits = 1 + static_cast<int>(gen() % 4);
    for (int e = 0; e < edits; ++e) {
      size_t pos = gen() % m.size();
      switch (gen() % 4) {
      case 0:
        m[pos] = static_cast<char>(gen());
        break;
      case 1:
        m[pos] = interesting[gen() % (sizeof interesting - 1)];
        break;
      case 2:
        m.erase(pos, 1 + gen() % 8);
        break;
      case 3:
        m.resize(gen() % (m.size() + 1));
        break;
      }
      if (m.empty())
        break;
    }
    FILE *f = std::fopen(p.c_str(), "wb");
    ASSERT_NE(f, nullptr);
    std::fwrite(m.data(), 1, m.size(), f);
    std::fclose(f);
    kiln_npy npy;
    char err[256];
    int32_t st = kiln_npy_read(p.c_str(), &npy, err, sizeof err);
    if (st == KILN_OK) {
      ASSERT_NE(npy.data, nullptr);
      ASSERT_LE(npy.rank, KILN_MAX_RANK);
    } else {
      EXPECT_EQ(npy.data, nullptr);
      EXPECT_TRUE(st == KILN_ERR_FORMAT || st == KILN_ERR_DTYPE) << st << " " << err;
    }
    kiln_npy_free(&npy);
  }
}

// ---- initializers ----------------------------------------------------------------

TEST(RuntimeInit, UniformMatchesTheDocumentedGenerator) {
  // splitmix64-seeded xoshiro256**, (x >> 11) * 2^-53, as init.c documents;
  // values computed independently. A change here changes every model.
  double v[3];
  kiln_init_uniform(v, KILN_F64, 3, 0.0, 1.0, 0);
  EXPECT_EQ(v[0], 0x1.33d8be6d96ebep-1);
  EXPECT_EQ(v[1], 0x1.7edc3ef092ac8p-1);
  EXPECT_EQ(v[2], 0x1.a5f849d4933e0p-4);
  kiln_init_uniform(v, KILN_F64, 3, 0.0, 1.0, 42);
  EXPECT_EQ(v[0], 0x1.5780b2e0c2ec0p-4);
  EXPECT_EQ(v[1], 0x1.84136619b444ep-2);
  EXPECT_EQ(v[2], 0x1.5c2ea66473c93p-1);
}

TEST(RuntimeInit, NormalIsDeterministic) {
  const int64_t n = 1001; // odd: the last Box-Muller pair is half used
  std::vector<float> a(n), b(n), c(n);
  kiln_init_normal(a.data(), KILN_F32, n, 0.0, 1.0, 7);
  kiln_init_normal(b.data(), KILN_F32, n, 0.0, 1.0, 7);
  kiln_init_normal(c.data(), KILN_F32, n, 0.0, 1.0, 8);
  EXPECT_EQ(std::memcmp(a.data(), b.data(), n * sizeof(float)), 0);
  int same = 0;
  for (int64_t i = 0; i < n; ++i)
    same += a[i] == c[i];
  EXPECT_LT(same, 5);

  // A prefix of a longer fill equals a shorter fill (same stream order).
  std::vector<double> longer(10), shorter(4);
  kiln_init_normal(longer.data(), KILN_F64, 10, 1.0, 2.0, 3);
  kiln_init_normal(shorter.data(), KILN_F64, 4, 1.0, 2.0, 3);
  for (int i = 0; i < 4; ++i)
    EXPECT_EQ(longer[i], shorter[i]);
  // f32 is the f64 value rounded.
  std::vector<float> f(10);
  kiln_init_normal(f.data(), KILN_F32, 10, 1.0, 2.0, 3);
  for (int i = 0; i < 10; ++i)
    EXPECT_EQ(f[i], static_cast<float>(longer[i]));
}

template <typename T> void checkNormalStats(kiln_dtype dt, double mean, double std) {
  const int64_t n = 100000;
  std::vector<T> v(n);
  kiln_init_normal(v.data(), dt, n, mean, std, 2024);
  double sum = 0, sq = 0;
  for (T x : v) {
    ASSERT_TRUE(std::isfinite(static_cast<double>(x)));
    sum += x;
  }
  double m = sum / n;
  for (T x : v)
    sq += (x - m) * (x - m);
  double s = std::sqrt(sq / (n - 1));
  EXPECT_NEAR(m, mean, 0.02);
  EXPECT_NEAR(s, std, 0.02);
}

TEST(RuntimeInit, NormalStatistics) {
  checkNormalStats<float>(KILN_F32, 0.0, 1.0);
  checkNormalStats<double>(KILN_F64, 0.5, 0.1);
  checkNormalStats<double>(KILN_F64, -3.0, 1.0);
}

TEST(RuntimeInit, UniformWithinBounds) {
  const int64_t n = 100000;
  std::vector<float> f(n);
  kiln_init_uniform(f.data(), KILN_F32, n, -0.25, 0.75, 11);
  double sum = 0;
  for (float x : f) {
    ASSERT_GE(x, -0.25f);
    ASSERT_LT(x, 0.75f);
    sum += x;
  }
  EXPECT_NEAR(sum / n, 0.25, 0.01);

  std::vector<double> d(n);
  kiln_init_uniform(d.data(), KILN_F64, n, 2.0, 3.0, 11);
  for (double x : d) {
    ASSERT_GE(x, 2.0);
    ASSERT_LT(x, 3.0);
  }
  // A range so narrow that f32 rounding lands on `high` still stays below it.
  kiln_init_uniform(f.data(), KILN_F32, 1000, 1.0, 1.0000001, 5);
  for (int i = 0; i < 1000; ++i) {
    ASSERT_GE(f[i], 1.0f);
    ASSERT_LT(f[i], static_cast<float>(1.0000001));
  }
}

TEST(RuntimeInit, FillAndOtherDtypes) {
  std::vector<float> f(5, 0.f);
  kiln_init_fill(f.data(), KILN_F32, 5, 1.5);
  for (float x : f)
    EXPECT_EQ(x, 1.5f);
  std::vector<double> d(3, 0.0);
  kiln_init_fill(d.data(), KILN_F64, 3, -2.25);
  for (double x : d)
    EXPECT_EQ(x, -2.25);

  // Integer and bool buffers are left untouched.
  std::vector<int32_t> i(4, 9);
  kiln_init_fill(i.data(), KILN_I32, 4, 1.0);
  kiln_init_normal(i.data(), KILN_I32, 4, 0.0, 1.0, 1);
  kiln_init_uniform(i.data(), KILN_I32, 4, 0.0, 1.0, 1);
  for (int32_t x : i)
    EXPECT_EQ(x, 9);
  // count 0 and null data are no-ops.
  kiln_init_fill(nullptr, KILN_F32, 10, 1.0);
  kiln_init_normal(f.data(), KILN_F32, 0, 0.0, 1.0, 1);
  EXPECT_EQ(f[0], 1.5f);
}

} // namespace

// ---- the thread pool (runtime/parallel.c) -------------------------------

namespace {

struct Coverage {
  std::vector<std::atomic<int>> hits;
  std::atomic<int> misaligned{0};
  std::atomic<int> chunks{0};
  explicit Coverage(int64_t n) : hits(size_t(n)) {}
};

void countChunk(int64_t begin, int64_t end, void *args, void *scratch) {
  auto *c = static_cast<Coverage *>(args);
  c->chunks++;
  if (reinterpret_cast<uintptr_t>(scratch) % KILN_ALIGNMENT != 0)
    c->misaligned++;
  std::memset(scratch, 0x5a, 4096); // the scratch is this thread's alone
  for (int64_t i = begin; i < end; ++i)
    c->hits[size_t(i)]++;
}

} // namespace

TEST(RuntimeParallel, EveryIterationOnceForEveryThreadCount) {
  for (int threads : {0, 1, 2, 3, 7}) {
    for (int64_t n : {int64_t(1), int64_t(2), int64_t(5), int64_t(1000)}) {
      kiln_context ctx;
      kiln_context_init(&ctx);
      ctx.num_threads = threads;
      Coverage c(n);
      kiln_parallel_begin(&ctx);
      kiln_parallel_for(countChunk, n, &c, 4096);
      EXPECT_EQ(kiln_parallel_end(), KILN_OK);
      for (int64_t i = 0; i < n; ++i)
        ASSERT_EQ(c.hits[size_t(i)].load(), 1) << "iteration " << i << " of " << n << ", threads " << threads;
      EXPECT_EQ(c.misaligned.load(), 0);
      int expected = int(std::min<int64_t>(n, threads == 0 ? kiln_num_threads() : threads));
      EXPECT_LE(c.chunks.load(), expected);
    }
  }
}

TEST(RuntimeParallel, NoIterationsRunsNothing) {
  Coverage c(1);
  kiln_parallel_begin(nullptr);
  kiln_parallel_for(countChunk, 0, &c, 4096);
  kiln_parallel_for(countChunk, -3, &c, 4096);
  EXPECT_EQ(kiln_parallel_end(), KILN_OK);
  EXPECT_EQ(c.chunks.load(), 0);
}

TEST(RuntimeParallel, DefaultThreadCountIsPositive) { EXPECT_GE(kiln_num_threads(), 1); }

// A process that forks after using the pool: the child has none of the
// parent's worker threads, and its parallel loops must still run (they
// would wait forever for the parent's workers otherwise).
TEST(RuntimeParallel, ChildOfForkRunsItsLoops) {
  kiln_context ctx;
  kiln_context_init(&ctx);
  ctx.num_threads = 2;
  Coverage warm(64);
  kiln_parallel_begin(&ctx);
  kiln_parallel_for(countChunk, 64, &warm, 4096); // the pool has a worker now
  ASSERT_EQ(kiln_parallel_end(), KILN_OK);
  pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    alarm(20); // a hang ends as SIGALRM, which the parent reports
    Coverage c(100);
    kiln_parallel_begin(&ctx);
    kiln_parallel_for(countChunk, 100, &c, 4096);
    bool ok = kiln_parallel_end() == KILN_OK;
    for (int64_t i = 0; i < 100; ++i)
      ok &= c.hits[size_t(i)].load() == 1;
    _exit(ok ? 0 : 1);
  }
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status)) << "the child died of signal " << WTERMSIG(status);
  EXPECT_EQ(WEXITSTATUS(status), 0);
}
