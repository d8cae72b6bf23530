#include "core/crypto.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <array>
#include <cstdint>
#include <stdexcept>

namespace al::crypto {

namespace {

std::string hmac(const EVP_MD* md, std::string_view key,
                 std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(md, key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), out,
       &len);
  return std::string(reinterpret_cast<char*>(out), len);
}

constexpr char alphabet[]
  = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
constexpr char url_alphabet[]
  = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

// Character -> 6-bit value, -1 for a character outside the alphabet.
constexpr std::array<signed char, 256> make_reverse(const char* abc) {
  std::array<signed char, 256> r{};
  for (auto& x : r)
    x = -1;
  for (int i = 0; i < 64; ++i)
    r[static_cast<unsigned char>(abc[i])] = static_cast<signed char>(i);
  return r;
}

constexpr auto reverse = make_reverse(alphabet);
constexpr auto url_reverse = make_reverse(url_alphabet);

} // namespace

std::string hmac_sha1(std::string_view key, std::string_view data) {
  return hmac(EVP_sha1(), key, data);
}

std::string hmac_sha256(std::string_view key, std::string_view data) {
  return hmac(EVP_sha256(), key, data);
}

std::string sha256(std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), out, &len, EVP_sha256(), nullptr);
  return std::string(reinterpret_cast<char*>(out), len);
}

std::string to_hex(std::string_view bytes) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out.push_back(digits[c >> 4]);
    out.push_back(digits[c & 0x0F]);
  }
  return out;
}

// Both directions write through a raw pointer into a string resized once
// (its capacity is kept by callers that reuse it, so a 20 ms media frame
// costs no allocation), one 4-character group per iteration.
void base64_encode_append(std::string_view in, std::string& out) {
  auto n = in.size();
  auto at = out.size();
  out.resize(at + (n + 2) / 3 * 4);
  char* d = out.data() + at;
  auto p = reinterpret_cast<const unsigned char*>(in.data());
  std::size_t i = 0;
  for (; i + 3 <= n; i += 3, d += 4) {
    std::uint32_t v = (std::uint32_t{p[i]} << 16)
                      | (std::uint32_t{p[i + 1]} << 8) | p[i + 2];
    d[0] = alphabet[v >> 18];
    d[1] = alphabet[(v >> 12) & 63];
    d[2] = alphabet[(v >> 6) & 63];
    d[3] = alphabet[v & 63];
  }
  if (auto rest = n - i; rest > 0) {
    std::uint32_t v = std::uint32_t{p[i]} << 16;
    if (rest == 2)
      v |= std::uint32_t{p[i + 1]} << 8;
    d[0] = alphabet[v >> 18];
    d[1] = alphabet[(v >> 12) & 63];
    d[2] = rest == 2 ? alphabet[(v >> 6) & 63] : '=';
    d[3] = '=';
  }
}

std::string base64_encode(std::string_view bytes) {
  std::string out;
  base64_encode_append(bytes, out);
  return out;
}

bool base64_decode_into(std::string_view text, std::string& out) {
  out.clear();
  auto n = text.size();
  if (n % 4 != 0)
    return false;
  if (n == 0)
    return true;
  auto p = reinterpret_cast<const unsigned char*>(text.data());
  // `=` may only end the text, once or twice; anywhere else the table maps
  // it (like every character outside the alphabet) to -1.
  std::size_t pad = p[n - 1] != '=' ? 0 : p[n - 2] != '=' ? 1 : 2;
  out.resize(n / 4 * 3 - pad);
  auto d = reinterpret_cast<unsigned char*>(out.data());
  auto full = pad == 0 ? n : n - 4; // groups with no padding
  for (std::size_t i = 0; i < full; i += 4, d += 3) {
    int a = reverse[p[i]], b = reverse[p[i + 1]], c = reverse[p[i + 2]],
        e = reverse[p[i + 3]];
    if ((a | b | c | e) < 0) { // one test for the four characters
      out.clear();
      return false;
    }
    auto v = (std::uint32_t(a) << 18) | (std::uint32_t(b) << 12)
             | (std::uint32_t(c) << 6) | std::uint32_t(e);
    d[0] = static_cast<unsigned char>(v >> 16);
    d[1] = static_cast<unsigned char>(v >> 8);
    d[2] = static_cast<unsigned char>(v);
  }
  if (pad == 0)
    return true;
  // The last group: "xy==" carries one byte, "xyz=" two. Bits below them
  // are ignored, as before (Twilio never sets them).
  int a = reverse[p[full]], b = reverse[p[full + 1]];
  int c = pad == 1 ? reverse[p[full + 2]] : 0;
  if ((a | b | c) < 0) {
    out.clear();
    return false;
  }
  auto v = (std::uint32_t(a) << 18) | (std::uint32_t(b) << 12)
           | (std::uint32_t(c) << 6);
  d[0] = static_cast<unsigned char>(v >> 16);
  if (pad == 1)
    d[1] = static_cast<unsigned char>(v >> 8);
  return true;
}

std::optional<std::string> base64_decode(std::string_view text) {
  std::string out;
  if (!base64_decode_into(text, out))
    return std::nullopt;
  return out;
}

std::string base64url_encode(std::string_view bytes) {
  auto s = base64_encode(bytes);
  while (!s.empty() && s.back() == '=')
    s.pop_back();
  for (auto& c : s) {
    if (c == '+')
      c = '-';
    else if (c == '/')
      c = '_';
  }
  return s;
}

std::optional<std::string> base64url_decode(std::string_view text) {
  // 4 characters carry 3 bytes; a tail of 2 or 3 carries 1 or 2, one of 1
  // carries none and is invalid.
  auto tail = text.size() % 4;
  if (tail == 1)
    return std::nullopt;
  std::string out;
  out.reserve(text.size() / 4 * 3 + 2);
  unsigned acc = 0; // the bits not yet emitted, `bits` of them
  int bits = 0;
  for (unsigned char c : text) {
    auto v = url_reverse[c];
    if (v < 0)
      return std::nullopt;
    acc = (acc << 6) | static_cast<unsigned>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xFF));
      acc &= (1u << bits) - 1;
    }
  }
  // The 2 or 4 bits left over must be zero: canonical encoding only.
  if (acc != 0)
    return std::nullopt;
  return out;
}

bool constant_time_equal(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size())
    return false;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::string random_token(std::size_t n) {
  std::string buf(n, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(buf.data()),
                 static_cast<int>(n))
      != 1)
    throw std::runtime_error("RAND_bytes failed");
  return base64url_encode(buf);
}

std::string secret_hash(std::string_view secret) {
  return to_hex(sha256(secret));
}

} // namespace al::crypto
