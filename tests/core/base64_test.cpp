// The media path's base64 (core/crypto: every inbound Twilio frame is
// decoded, every outbound one encoded) against a plain reference decoder,
// on hostile input: characters outside the alphabet, bad padding, lengths
// that are not a multiple of 4, empty and huge inputs. And the outbound
// frame writer against append_media_json.

#include "core/crypto.hpp"
#include "core/media_out.hpp"

#include <gtest/gtest.h>

#include <optional>
#include <random>
#include <string>

namespace al {
namespace {

constexpr std::string_view alphabet
  = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Obviously-correct decoder of the accepted language: 4n characters from
/// the alphabet, of which the last one or two may be `=` (two only when the
/// last is one too); bits below the last whole byte are ignored.
std::optional<std::string> reference_decode(std::string_view text) {
  if (text.size() % 4 != 0)
    return std::nullopt;
  std::size_t pad = 0;
  if (!text.empty() && text.back() == '=')
    pad = text.size() >= 2 && text[text.size() - 2] == '=' ? 2 : 1;
  std::string out;
  unsigned acc = 0;
  int bits = 0;
  for (std::size_t i = 0; i < text.size() - pad; ++i) {
    auto v = alphabet.find(text[i]);
    if (v == std::string_view::npos)
      return std::nullopt;
    acc = (acc << 6) | static_cast<unsigned>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xFF));
    }
  }
  return out;
}

std::string random_bytes(std::mt19937& rng, std::size_t n) {
  std::string s(n, '\0');
  for (auto& c : s)
    c = static_cast<char>(rng());
  return s;
}

/// decode_into and decode agree with the reference on `text`.
void expect_like_reference(std::string_view text) {
  auto want = reference_decode(text);
  std::string out = "stale";
  bool ok = crypto::base64_decode_into(text, out);
  ASSERT_EQ(ok, want.has_value());
  if (ok)
    EXPECT_EQ(out, *want);
  else
    EXPECT_TRUE(out.empty()) << "a refused text leaves nothing behind";
  EXPECT_EQ(crypto::base64_decode(text), want);
}

TEST(base64, round_trips_every_length_up_to_a_few_frames) {
  std::mt19937 rng{22};
  std::string out;
  for (std::size_t n = 0; n <= 3 * 160 + 3; ++n) {
    auto bytes = random_bytes(rng, n);
    auto text = crypto::base64_encode(bytes);
    ASSERT_EQ(text.size(), (n + 2) / 3 * 4);
    ASSERT_EQ(text.find_first_not_of(std::string{alphabet} + "="),
              std::string::npos);
    ASSERT_TRUE(crypto::base64_decode_into(text, out)) << n;
    ASSERT_EQ(out, bytes) << n;
    expect_like_reference(text);
  }
}

TEST(base64, empty_is_valid_and_decodes_to_nothing) {
  std::string out = "stale";
  EXPECT_TRUE(crypto::base64_decode_into("", out));
  EXPECT_TRUE(out.empty());
  EXPECT_EQ(crypto::base64_encode(""), "");
  std::string appended = "x";
  crypto::base64_encode_append("", appended);
  EXPECT_EQ(appended, "x");
}

TEST(base64, lengths_not_a_multiple_of_four_are_refused) {
  for (std::string_view t : {"Z", "Zg", "Zg=", "Zm9vY", "Zm9vYg",
                             "Zm9vYg=", "Zm9vYmFyZ", "=", "==", "==="}) {
    SCOPED_TRACE(t);
    expect_like_reference(t);
    std::string out;
    EXPECT_FALSE(crypto::base64_decode_into(t, out));
  }
}

TEST(base64, padding_only_at_the_end) {
  for (std::string_view t :
       {"====", "Z===", "=Zg=", "Zg=a", "Z=g=", "Zg==Zg==", "Zm9v=m9v",
        "Zm9vYg==Zm9v", "Zg== ", "Zm8=Zm8=", "Zm9vY===", "Zm9v===="}) {
    SCOPED_TRACE(t);
    std::string out;
    EXPECT_FALSE(crypto::base64_decode_into(t, out));
    expect_like_reference(t);
  }
  // The valid endings, and bits under the padding (ignored, as Twilio
  // never sets them) do not make a text invalid.
  for (std::string_view t : {"Zg==", "Zm8=", "Zm9v", "Zh==", "Zm9=", "////"}) {
    SCOPED_TRACE(t);
    std::string out;
    EXPECT_TRUE(crypto::base64_decode_into(t, out));
    expect_like_reference(t);
  }
}

TEST(base64, every_byte_outside_the_alphabet_is_refused_anywhere) {
  const std::string valid = "Zm9vYmFyYmF6cXV4"; // "foobarbazqux"
  for (int b = 0; b < 256; ++b) {
    auto c = static_cast<char>(b);
    if (alphabet.find(c) != std::string_view::npos)
      continue;
    for (std::size_t at = 0; at < valid.size(); ++at) {
      auto t = valid;
      t[at] = c;
      std::string out;
      if (c == '=' && at + 2 >= t.size())
        continue; // padding where padding may be: checked above
      ASSERT_FALSE(crypto::base64_decode_into(t, out))
        << "byte " << b << " at " << at;
      ASSERT_TRUE(out.empty());
    }
  }
}

TEST(base64, random_mutations_agree_with_the_reference) {
  std::mt19937 rng{4};
  const std::string pool = std::string{alphabet} + "=-_ \n\r\t\\\"\0\x80\xff";
  for (int round = 0; round < 20000; ++round) {
    auto text = crypto::base64_encode(random_bytes(rng, rng() % 40));
    // Zero to three edits: replace, insert or erase one character.
    for (auto edits = rng() % 4; edits > 0; --edits) {
      auto c = pool[rng() % pool.size()];
      auto at = text.empty() ? 0 : rng() % (text.size() + 1);
      switch (rng() % 3) {
        case 0:
          if (at < text.size())
            text[at] = c;
          break;
        case 1:
          text.insert(text.begin() + static_cast<std::ptrdiff_t>(at), c);
          break;
        default:
          if (at < text.size())
            text.erase(at, 1);
      }
    }
    SCOPED_TRACE(text);
    expect_like_reference(text);
  }
}

TEST(base64, huge_inputs) {
  std::mt19937 rng{1};
  auto bytes = random_bytes(rng, 3 * 1024 * 1024 + 1);
  auto text = crypto::base64_encode(bytes);
  std::string out;
  ASSERT_TRUE(crypto::base64_decode_into(text, out));
  EXPECT_EQ(out, bytes);
  // One bad character at the very end of 4 MiB is still found.
  text[text.size() - 3] = '*';
  EXPECT_FALSE(crypto::base64_decode_into(text, out));
  EXPECT_TRUE(out.empty());
  // 4 MiB + 1 character: refused on its length.
  EXPECT_FALSE(
    crypto::base64_decode_into(std::string(4 * 1024 * 1024 + 1, 'A'), out));
}

TEST(base64, reused_buffers_keep_their_memory) {
  std::mt19937 rng{3};
  auto frame = random_bytes(rng, 160);
  auto text = crypto::base64_encode(frame);
  std::string out;
  ASSERT_TRUE(crypto::base64_decode_into(text, out));
  const char* data = out.data();
  for (int i = 0; i < 10; ++i) {
    ASSERT_TRUE(crypto::base64_decode_into(text, out));
    EXPECT_EQ(out.data(), data) << "no reallocation for same-size frames";
  }
  std::string enc;
  enc.reserve(512);
  const char* enc_data = enc.data();
  for (int i = 0; i < 10; ++i) {
    enc.clear();
    crypto::base64_encode_append(frame, enc);
    EXPECT_EQ(enc, text);
    EXPECT_EQ(enc.data(), enc_data);
  }
}

TEST(media_json_writer, writes_what_append_media_json_writes) {
  std::mt19937 rng{9};
  for (std::string_view sid :
       {std::string_view{"MZ18ad3ab5a668481ce02b83e7395059f0"},
        std::string_view{""}, std::string_view{"a\"b\\c\n\x01"},
        std::string_view{"\xff\xfe not utf-8"},
        std::string_view{"\xd7\xa9\xd7\x9c\xd7\x95\xd7\x9d"}}) {
    media_json_writer w{sid};
    for (std::size_t n : {0, 1, 2, 3, 159, 160, 161, 4000}) {
      auto mulaw = random_bytes(rng, n);
      std::string want = "prefix";
      append_media_json(want, sid, mulaw);
      std::string got = "prefix";
      w.append(got, mulaw);
      EXPECT_EQ(got, want) << n;
    }
  }
  // A default writer is the empty streamSid's.
  std::string a, b;
  media_json_writer{}.append(a, "x");
  append_media_json(b, "", "x");
  EXPECT_EQ(a, b);
}

} // namespace
} // namespace al
