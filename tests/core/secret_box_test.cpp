// Tenant secrets at rest (core/secret_box.hpp): HKDF key derivation,
// AES-256-GCM envelopes, key rotation, hostile stored values, and the
// process-wide ring with its pass-through shorthands.
#include "core/secret_box.hpp"

#include "core/crypto.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <random>
#include <stdexcept>
#include <thread>

namespace al::secrets {
namespace {

constexpr std::string_view ctx = "twilio_auth_token";

// Known answers, computed once on this machine and cross-checked with
// `openssl kdf -keylen 32 -kdfopt digest:SHA256 -kdfopt key:"correct horse
// battery staple" -kdfopt salt:agentlocator -kdfopt info:"secrets-at-rest
// v1" HKDF` (and info "secrets-at-rest key id v1" for the id), and with
// Python's cryptography (HKDF, AESGCM) for the envelopes: nonce 000102..0b,
// AAD "twilio_auth_token".
constexpr std::string_view kat_secret = "correct horse battery staple";
constexpr std::string_view kat_key_hex
  = "2392c55f066f68b0d633e18a9387c36da434509c52636549c1992eb523a2c79a";
constexpr std::string_view kat_id = "aef9ade1";
constexpr std::string_view kat_sealed
  = "enc:v1:aef9ade1:AAECAwQFBgcICQoLRDoiOMMiFdMSGkP_we_-GMKvleZdgeRDbd8Z9Gtg-"
    "F_KqAT2Us3--M5Rlsr1mSfS";
constexpr std::string_view kat_plain = "0123456789abcdef0123456789abcdef";
constexpr std::string_view kat_sealed_empty
  = "enc:v1:aef9ade1:AAECAwQFBgcICQoL6dxn_U6BQdhZQ7pJA_blBg";

constexpr std::size_t header_len = 16; // "enc:v1:xxxxxxxx:"

keyring ring_of(std::string_view current,
                std::vector<std::string> previous = {}) {
  return keyring{current, previous};
}

// -- derive_key
// ----------------------------------------------------------------

TEST(SecretBox, DeriveKeyKnownAnswer) {
  auto k = derive_key(kat_secret);
  EXPECT_EQ(crypto::to_hex(k.bytes), kat_key_hex);
  EXPECT_EQ(k.id, kat_id);
}

TEST(SecretBox, DeriveKeyDeterministicAndDistinct) {
  auto a1 = derive_key("key A");
  auto a2 = derive_key("key A");
  auto b = derive_key("key B");
  EXPECT_EQ(a1.bytes, a2.bytes);
  EXPECT_EQ(a1.id, a2.id);
  EXPECT_NE(a1.bytes, b.bytes);
  EXPECT_NE(a1.id, b.id);
  for (auto* k : {&a1, &b}) {
    EXPECT_EQ(k->bytes.size(), 32u);
    ASSERT_EQ(k->id.size(), 8u);
    EXPECT_EQ(k->id.find_first_not_of("0123456789abcdef"), std::string::npos);
    // The id is not a prefix of the key (independent HKDF outputs).
    EXPECT_NE(crypto::to_hex(k->bytes).substr(0, 8), k->id);
  }
  EXPECT_THROW(derive_key(""), std::invalid_argument);
}

// -- round trips
// -------------------------------------------------------------------

TEST(SecretBox, RoundTrip) {
  auto ring = ring_of("key A");
  std::string kib4(4096, '\0');
  std::mt19937 rng(7);
  for (auto& c : kib4)
    c = static_cast<char>(rng());
  std::string values[] = {"",
                          "x",
                          "AC0123456789abcdef",
                          "שלום עולם 🌍 ✓",
                          std::string("nul\0inside", 10),
                          kib4};
  for (auto& v : values) {
    auto s = ring.seal(v, ctx);
    EXPECT_EQ(s.rfind("enc:v1:" + ring.current_id() + ":", 0), 0u) << s;
    EXPECT_TRUE(is_sealed(s));
    EXPECT_EQ(key_id_of(s), ring.current_id());
    // Only [A-Za-z0-9_-] after the header: safe in any text column.
    EXPECT_EQ(s.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnop"
                                  "qrstuvwxyz0123456789-_",
                                  header_len),
              std::string::npos);
    auto o = ring.open(s, ctx);
    ASSERT_EQ(o.status, open_status::ok) << v.size();
    EXPECT_EQ(o.value, v);
    EXPECT_EQ(o.key_id, ring.current_id());
  }
  // 12 + 16 bytes of overhead: the empty value is 28 bytes, 38 characters.
  EXPECT_EQ(ring.seal("", ctx).size(), header_len + 38);
}

TEST(SecretBox, KnownAnswerEnvelopes) {
  auto ring = ring_of(kat_secret);
  auto o = ring.open(kat_sealed, ctx);
  ASSERT_EQ(o.status, open_status::ok);
  EXPECT_EQ(o.value, kat_plain);
  EXPECT_EQ(o.key_id, kat_id);
  auto e = ring.open(kat_sealed_empty, ctx);
  ASSERT_EQ(e.status, open_status::ok);
  EXPECT_EQ(e.value, "");
}

TEST(SecretBox, NonceIsRandom) {
  auto ring = ring_of("key A");
  auto s1 = ring.seal("same value", ctx);
  auto s2 = ring.seal("same value", ctx);
  EXPECT_NE(s1, s2);
  // The nonce (first 16 characters of the body) differs, not just the rest.
  EXPECT_NE(s1.substr(header_len, 16), s2.substr(header_len, 16));
  EXPECT_EQ(ring.open(s1, ctx).value, "same value");
  EXPECT_EQ(ring.open(s2, ctx).value, "same value");
}

// -- hostile stored values ----------------------------------------------------

TEST(SecretBox, WrongContextIsCorrupt) {
  auto ring = ring_of("key A");
  auto s = ring.seal("token", "twilio_auth_token");
  EXPECT_EQ(ring.open(s, "paypal_secret").status, open_status::corrupt);
  EXPECT_EQ(ring.open(s, "").status, open_status::corrupt);
  EXPECT_EQ(ring.open(s, "twilio_auth_token ").status, open_status::corrupt);
  auto e = ring.seal("token", "");
  EXPECT_EQ(ring.open(e, "").status, open_status::ok);
  EXPECT_EQ(ring.open(e, "x").status, open_status::corrupt);
  EXPECT_EQ(ring.open(kat_sealed, "twilio_auth_tokem").value, "");
}

TEST(SecretBox, TamperedByteAnywhereFails) {
  auto ring = ring_of("key A", {"key B"});
  const std::string alphabet
    = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  for (auto& plain : {std::string{}, std::string{"a secret"}}) {
    auto s = ring.seal(plain, ctx);
    for (std::size_t i = 0; i < s.size(); ++i) {
      // Every other base64url character, a few outsiders, a flipped bit.
      std::string subs = alphabet + "=+/ :\n\x80";
      subs.push_back(static_cast<char>(s[i] ^ 1));
      for (char c : subs) {
        if (c == s[i])
          continue;
        auto t = s;
        t[i] = c;
        auto o = ring.open(t, ctx);
        EXPECT_TRUE(o.value.empty() || o.status == open_status::plaintext);
        if (i < 4) { // no longer "enc:": a clear value by definition
          EXPECT_EQ(o.status, open_status::plaintext) << t;
        } else if (i < header_len) { // the header: malformed or another key
          EXPECT_TRUE(o.status == open_status::corrupt
                      || o.status == open_status::unknown_key)
            << t;
        } else {
          EXPECT_EQ(o.status, open_status::corrupt) << t;
        }
      }
    }
    EXPECT_EQ(ring.open(s + "A", ctx).status, open_status::corrupt);
    EXPECT_EQ(ring.open(s + "AA", ctx).status, open_status::corrupt);
    EXPECT_EQ(ring.open(s + "=", ctx).status, open_status::corrupt);
  }
  // The unused low bits of the last character: 'g' (100000) and 'h'
  // (100001) decode alike to a lax decoder; the strict one refuses 'h'.
  auto kat = ring_of(kat_secret);
  std::string lax{kat_sealed_empty};
  ASSERT_EQ(lax.back(), 'g');
  lax.back() = 'h';
  EXPECT_EQ(kat.open(lax, ctx).status, open_status::corrupt);
}

TEST(SecretBox, TruncatedAtEveryLength) {
  auto ring = ring_of("key A");
  for (auto& plain : {std::string{}, std::string(100, 'z')}) {
    auto s = ring.seal(plain, ctx);
    for (std::size_t n = 0; n < s.size(); ++n) {
      auto o = ring.open(std::string_view{s}.substr(0, n), ctx);
      // "", "e", "en", "enc" do not start with "enc:": clear values.
      auto want = n < 4 ? open_status::plaintext : open_status::corrupt;
      EXPECT_EQ(o.status, want) << n;
      if (n >= 4) {
        EXPECT_TRUE(o.value.empty());
      }
      // Cut at the front too (a shifted value).
      if (n > 0) {
        EXPECT_NE(ring.open(std::string_view{s}.substr(n), ctx).status,
                  open_status::ok)
          << n;
      }
    }
  }
}

TEST(SecretBox, MalformedEnvelopes) {
  auto ring = ring_of(kat_secret);
  std::string body{kat_sealed.substr(header_len)};
  for (auto& bad : std::vector<std::string>{
         "enc:", "enc:v1", "enc:v1:", "enc:v1:aef9ade1", "enc:v1:aef9ade1:",
         "enc:v2:aef9ade1:" + body, "enc:V1:aef9ade1:" + body,
         "enc:v1:AEF9ADE1:" + body, "enc:v1:aef9ade:" + body,
         "enc:v1:aef9ade1x" + body, "enc:v1:aef9ade1::" + body,
         "enc:v1:aef9ade1:" + body + "==", "enc:v1:aef9ade1: " + body,
         "enc:v1:aef9ade1:" + body.substr(0, 37), // 4n + 1 characters
         "enc:v1:aef9ade1:" + body.substr(0, 36), // 27 bytes: no room

         std::string("enc:v1:aef9ade1:\0", 17) + body}) {
    auto o = ring.open(bad, ctx);
    EXPECT_EQ(o.status, open_status::corrupt) << bad;
    EXPECT_TRUE(o.value.empty());
  }
  EXPECT_EQ(key_id_of("enc:v1:AEF9ADE1:" + body), std::nullopt);
  EXPECT_EQ(key_id_of("enc:v1:aef9ade1:"), "aef9ade1"); // header only
  EXPECT_EQ(key_id_of("enc:v1:aef9ade1"), std::nullopt);
}

TEST(SecretBox, PlaintextPassesThrough) {
  auto ring = ring_of("key A");
  for (std::string v : {"", "AC0123", "en", "enc", "ENC:v1:x", " enc:v1:"}) {
    EXPECT_FALSE(is_sealed(v));
    EXPECT_EQ(key_id_of(v), std::nullopt);
    auto o = ring.open(v, ctx);
    EXPECT_EQ(o.status, open_status::plaintext) << v;
    EXPECT_EQ(o.value, v);
    EXPECT_EQ(o.key_id, "");
  }
  EXPECT_TRUE(is_sealed("enc:"));
}

// -- rotation
// ------------------------------------------------------------------

TEST(SecretBox, RotationOpensPreviousKeys) {
  auto a = ring_of("key A");
  auto rotated = ring_of("key B", {"key A"});
  auto only_b = ring_of("key B");
  auto s = a.seal("sealed under A", ctx);

  EXPECT_EQ(rotated.current_id(), derive_key("key B").id);
  EXPECT_TRUE(rotated.knows(a.current_id()));
  EXPECT_TRUE(rotated.knows(rotated.current_id()));
  EXPECT_FALSE(rotated.knows("00000000"));
  EXPECT_FALSE(only_b.knows(a.current_id()));

  auto o = rotated.open(s, ctx);
  ASSERT_EQ(o.status, open_status::ok);
  EXPECT_EQ(o.value, "sealed under A");
  EXPECT_EQ(o.key_id, a.current_id()); // so a re-seal pass can find it

  // New values are sealed under B, which A alone cannot open.
  auto s2 = rotated.seal("sealed under B", ctx);
  EXPECT_EQ(key_id_of(s2), only_b.current_id());
  EXPECT_EQ(only_b.open(s2, ctx).value, "sealed under B");
  auto u = a.open(s2, ctx);
  EXPECT_EQ(u.status, open_status::unknown_key);
  EXPECT_EQ(u.key_id, only_b.current_id());
  EXPECT_TRUE(u.value.empty());

  auto gone = only_b.open(s, ctx);
  EXPECT_EQ(gone.status, open_status::unknown_key);
  EXPECT_EQ(gone.key_id, a.current_id());
}

TEST(SecretBox, RingConstruction) {
  // Duplicates are harmless; an empty key is an error.
  auto r = ring_of("key A", {"key A", "key B", "key B"});
  EXPECT_TRUE(r.has_key());
  EXPECT_EQ(r.current_id(), derive_key("key A").id);
  EXPECT_TRUE(r.knows(derive_key("key B").id));
  EXPECT_THROW(ring_of(""), std::invalid_argument);
  EXPECT_THROW(ring_of("key A", {""}), std::invalid_argument);
}

TEST(SecretBox, NoKey) {
  keyring none;
  EXPECT_FALSE(none.has_key());
  EXPECT_EQ(none.current_id(), "");
  EXPECT_FALSE(none.knows(""));
  EXPECT_THROW(none.seal("x", ctx), std::logic_error);
  EXPECT_EQ(none.open("clear", ctx).status, open_status::plaintext);
  auto o = none.open(kat_sealed, ctx);
  EXPECT_EQ(o.status, open_status::unknown_key);
  EXPECT_EQ(o.key_id, kat_id);
  EXPECT_EQ(none.open("enc:nope", ctx).status, open_status::corrupt);
}

// -- the installed ring ------------------------------------------------------

class SecretBoxInstalled : public ::testing::Test {
protected:
  void SetUp() override {
    install(nullptr);
  }
  void TearDown() override {
    install(nullptr);
  }
};

TEST_F(SecretBoxInstalled, NoRingPassesThrough) {
  EXPECT_FALSE(active()->has_key());
  EXPECT_EQ(seal_if_keyed("clear token", ctx), "clear token");
  EXPECT_EQ(seal_if_keyed("", ctx), "");
  EXPECT_EQ(reveal("clear token", ctx), "clear token");
  EXPECT_EQ(reveal("", ctx), "");
  EXPECT_EQ(reveal(kat_sealed, ctx), std::nullopt); // unknown_key
}

TEST_F(SecretBoxInstalled, InstalledRingSealsAndReveals) {
  install(
    std::make_shared<const keyring>(kat_secret, std::vector<std::string>{}));
  EXPECT_EQ(active()->current_id(), kat_id);
  auto s = seal_if_keyed("token", ctx);
  EXPECT_EQ(key_id_of(s), kat_id);
  EXPECT_EQ(reveal(s, ctx), "token");
  EXPECT_EQ(reveal(s, "other_column"), std::nullopt); // corrupt
  EXPECT_EQ(reveal(kat_sealed, ctx), kat_plain);
  EXPECT_EQ(reveal("legacy clear", ctx), "legacy clear");
  install(nullptr);
  EXPECT_FALSE(active()->has_key());
}

TEST_F(SecretBoxInstalled, ConcurrentReadersAndInstall) {
  auto a = std::make_shared<const keyring>("key A", std::vector<std::string>{});
  auto ab = std::make_shared<const keyring>("key B",
                                            std::vector<std::string>{"key A"});
  install(a);
  auto sealed = a->seal("shared", ctx);
  std::atomic<int> failures{0};
  std::vector<std::thread> readers;
  for (int t = 0; t < 2; ++t)
    readers.emplace_back([&] {
      for (int i = 0; i < 300; ++i) {
        if (reveal(sealed, ctx) != "shared")
          ++failures;
        auto s = seal_if_keyed("mine", ctx);
        if (ab->open(s, ctx).value != "mine")
          ++failures;
      }
    });
  for (int i = 0; i < 300; ++i)
    install(i % 2 ? a : ab);
  for (auto& r : readers)
    r.join();
  EXPECT_EQ(failures.load(), 0);
}

// -- the strict base64url decoder the envelopes rely on
// --------------------------

TEST(SecretBox, Base64UrlDecodeIsStrict) {
  for (auto& s :
       std::vector<std::string>{"", "f", "fo", "foo", "foob", "fooba", "foobar",
                                std::string("\xff\xfe\x00\x01", 4)})
    EXPECT_EQ(crypto::base64url_decode(crypto::base64url_encode(s)), s);
  EXPECT_EQ(crypto::base64url_decode("-_8"), "\xfb\xff");
  EXPECT_EQ(crypto::base64url_decode("Zg"), "f");
  EXPECT_EQ(crypto::base64url_decode("Zh"), std::nullopt);    // unused bits
  EXPECT_EQ(crypto::base64url_decode("Zm9"), std::nullopt);   // ditto
  EXPECT_EQ(crypto::base64url_decode("Zg=="), std::nullopt);  // padding
  EXPECT_EQ(crypto::base64url_decode("Zm9vY"), std::nullopt); // 4n + 1
  EXPECT_EQ(crypto::base64url_decode("+/8"), std::nullopt);   // not url-safe
  EXPECT_EQ(crypto::base64url_decode("Zm 9v"), std::nullopt);
}

} // namespace
} // namespace al::secrets
