// Secrets at rest (core/secret_box.hpp): the stored column value is hostile
// (a tampered database). Input lines: the context (column name), a secret
// key, then the stored value (the rest). Properties, under a fixed ring
// {current "fuzz key A", previous "fuzz key B"} (the seeds hold envelopes
// sealed under both, so mutations start from valid ones):
// - open never crashes; its status agrees with is_sealed and key_id_of, a
//   clear value comes back as is, a failure carries no value;
// - an envelope that opens is canonical (decoding and re-encoding its body
//   gives the same text), fails under another context, and opens with a
//   ring of its key alone; reveal over the installed ring agrees;
// - any input sealed under any context opens to itself; one changed body
//   character or a cut makes it fail;
// - a key derived from the secret line has an 8-hex id, seals what it opens
//   and cannot open the fixed ring's values.

#include "bench/fuzz/fuzz_util.hpp"
#include "core/crypto.hpp"
#include "core/secret_box.hpp"

namespace {

using namespace al;
using namespace al::secrets;
using al::fuzz::check;

constexpr std::size_t header_len = 16; // "enc:v1:<8 hex>:"

struct rings {
  std::shared_ptr<const keyring> both = std::make_shared<const keyring>(
    "fuzz key A", std::vector<std::string>{"fuzz key B"});
  keyring only_a{"fuzz key A", {}};
  keyring only_b{"fuzz key B", {}};
  rings() {
    install(both);
  }
};

const rings& fixed() {
  static const rings r;
  return r;
}

bool hex8(const std::string& id) {
  return id.size() == 8
         && id.find_first_not_of("0123456789abcdef") == std::string::npos;
}

// What the fixed ring says about `stored`, checked for consistency.
void check_open(std::string_view stored, std::string_view context) {
  auto& r = fixed();
  auto o = r.both->open(stored, context);
  auto id = key_id_of(stored);
  check(is_sealed(stored) == (o.status != open_status::plaintext),
        "plaintext exactly when not enc:");
  switch (o.status) {
    case open_status::plaintext:
      check(o.value == stored && o.key_id.empty(), "a clear value as is");
      break;
    case open_status::corrupt:
      check(o.value.empty() && o.key_id.empty(), "corrupt carries nothing");
      break;
    case open_status::unknown_key:
      check(o.value.empty() && id && *id == o.key_id && hex8(o.key_id),
            "unknown_key names the envelope's id");
      check(!r.both->knows(o.key_id), "unknown_key is not in the ring");
      break;
    case open_status::ok: {
      check(id && *id == o.key_id && r.both->knows(o.key_id),
            "ok names a known id");
      auto body = crypto::base64url_decode(stored.substr(header_len));
      check(body
              && stored.substr(header_len) == crypto::base64url_encode(*body),
            "an envelope that opens is canonical");
      check(body->size() == 12 + o.value.size() + 16, "nonce | ct | tag");
      auto other = std::string{context} + "\x01";
      check(r.both->open(stored, other).status == open_status::corrupt,
            "another context fails");
      auto& alone = o.key_id == r.only_a.current_id() ? r.only_a : r.only_b;
      auto& not_it = &alone == &r.only_a ? r.only_b : r.only_a;
      auto a = alone.open(stored, context);
      check(a.status == open_status::ok && a.value == o.value,
            "opens with its key alone");
      check(not_it.open(stored, context).status == open_status::unknown_key,
            "the other key does not know it");
      break;
    }
  }
  auto shown = reveal(stored, context);
  bool readable = o.status == open_status::ok
                  || o.status == open_status::plaintext;
  check(shown.has_value() == readable && (!shown || *shown == o.value),
        "reveal agrees with open");
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data,
                                      std::size_t size) {
  if (size > 8 * 1024)
    return 0;
  auto f = fuzz::fields(fuzz::as_view(data, size), 3);
  auto context = f[0], secret = f[1], stored = f[2];
  auto& r = fixed();

  check_open(stored, context);

  // Any bytes seal and open under any context; a changed character or a cut
  // envelope never opens.
  auto s = r.both->seal(stored, context);
  check(key_id_of(s) == r.both->current_id(), "sealed under the current key");
  auto o = r.both->open(s, context);
  check(o.status == open_status::ok && o.value == stored
          && o.key_id == r.both->current_id(),
        "seal then open gives the value back");
  check(s.size() > header_len, "a body follows the header");
  auto at = header_len + size % (s.size() - header_len);
  auto t = s;
  t[at] = t[at] == 'A' ? 'B' : 'A';
  check(r.both->open(t, context).status == open_status::corrupt,
        "a changed body character fails");
  auto cut = size % s.size();
  auto c = r.both->open(std::string_view{s}.substr(0, cut), context).status;
  check(c == (cut < 4 ? open_status::plaintext : open_status::corrupt),
        "a cut envelope fails");

  // A key of our own.
  if (!secret.empty() && secret.size() <= 256) {
    auto k = derive_key(secret);
    check(hex8(k.id) && k.bytes.size() == 32, "a 32-byte key, an 8-hex id");
    keyring mine{secret, {}};
    check(mine.current_id() == k.id, "the ring's id is the key's");
    auto m = mine.seal(stored, context);
    auto back = mine.open(m, context);
    check(back.status == open_status::ok && back.value == stored,
          "own key round trip");
    if (!r.both->knows(k.id)) {
      check(mine.open(s, context).status == open_status::unknown_key,
            "another key cannot open");
      check(r.both->open(m, context).status == open_status::unknown_key,
            "nor the other way round");
    }
  }
  return 0;
}
