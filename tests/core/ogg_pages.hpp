#pragma once

// A small Ogg page reader for tests (RFC 3533): splits a byte string into
// pages, checking each page's CRC. Stops at the first malformed page.

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace al::test {

struct ogg_page {
  std::uint8_t flags = 0;
  std::int64_t granule = 0;
  std::uint32_t serial = 0;
  std::uint32_t seq = 0;
  bool crc_ok = false;
  std::string body;
  std::size_t size = 0; // header + body
  bool bos() const {
    return flags & 0x02;
  }
  bool eos() const {
    return flags & 0x04;
  }
};

inline std::uint32_t ogg_crc(const std::string& page) {
  static const auto table = [] {
    std::array<std::uint32_t, 256> t{};
    for (std::uint32_t i = 0; i < 256; ++i) {
      std::uint32_t r = i << 24;
      for (int k = 0; k < 8; ++k)
        r = r & 0x80000000u ? (r << 1) ^ 0x04c11db7u : r << 1;
      t[i] = r;
    }
    return t;
  }();
  std::uint32_t crc = 0;
  for (unsigned char c : page)
    crc = (crc << 8) ^ table[((crc >> 24) & 0xff) ^ c];
  return crc;
}

inline std::vector<ogg_page> ogg_pages(const std::string& bytes) {
  std::vector<ogg_page> out;
  auto u8 = [&](std::size_t i) {
    return static_cast<std::uint64_t>(static_cast<unsigned char>(bytes[i]));
  };
  auto le = [&](std::size_t at, int n) {
    std::uint64_t v = 0;
    for (int i = n - 1; i >= 0; --i)
      v = v << 8 | u8(at + static_cast<std::size_t>(i));
    return v;
  };
  std::size_t at = 0;
  while (at + 27 <= bytes.size() && bytes.compare(at, 4, "OggS") == 0) {
    std::size_t nseg = u8(at + 26);
    if (at + 27 + nseg > bytes.size())
      break;
    std::size_t body = 0;
    for (std::size_t i = 0; i < nseg; ++i)
      body += u8(at + 27 + i);
    std::size_t size = 27 + nseg + body;
    if (at + size > bytes.size())
      break;
    ogg_page p;
    p.flags = static_cast<std::uint8_t>(u8(at + 5));
    p.granule = static_cast<std::int64_t>(le(at + 6, 8));
    p.serial = static_cast<std::uint32_t>(le(at + 14, 4));
    p.seq = static_cast<std::uint32_t>(le(at + 18, 4));
    auto stored = static_cast<std::uint32_t>(le(at + 22, 4));
    std::string copy = bytes.substr(at, size);
    copy[22] = copy[23] = copy[24] = copy[25] = '\0';
    p.crc_ok = ogg_crc(copy) == stored;
    p.body = bytes.substr(at + 27 + nseg, body);
    p.size = size;
    out.push_back(std::move(p));
    at += size;
  }
  return out;
}

} // namespace al::test
