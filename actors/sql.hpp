#pragma once

// Named prepared statements. Every SQL text of the service is a constant
//
//   constexpr sql_statement select_lead{"SELECT ... WHERE id = $1"};
//
// next to the functions that run it (actors/*_rows.cpp, actors/*_store.cpp,
// actors/crm_queries.cpp), and runs through `exec`, which prepares it on the
// job's connection under its own name (once per connection: libpqxx sends
// the PREPARE on first use and re-prepares after a reconnect) and binds the
// arguments as parameters. No SQL is ever assembled at run time.
//
// The name is "al_" + the FNV-1a hash of the text, computed at compile
// time: two different texts never share a name by accident (which libpqxx
// would refuse as an inconsistent redefinition), the same text is prepared
// once. Include this only in .cpp files that run SQL (it pulls in libpqxx).

#include "actors/store.hpp"

#include <pqxx/pqxx>

#include <cstdint>
#include <string>
#include <utility>

namespace al {

class sql_statement {
public:
  constexpr explicit sql_statement(const char* text)
    : text_(text)
    , name_{} {
    std::uint64_t h = 14695981039346656037ull; // FNV-1a, 64 bit
    for (const char* p = text; *p; ++p) {
      h ^= static_cast<unsigned char>(*p);
      h *= 1099511628211ull;
    }
    const char* hex = "0123456789abcdef";
    name_[0] = 'a';
    name_[1] = 'l';
    name_[2] = '_';
    for (int i = 0; i < 16; ++i)
      name_[3 + i] = hex[(h >> (60 - 4 * i)) & 0xF];
    name_[19] = '\0';
  }

  constexpr const char* text() const noexcept {
    return text_;
  }
  constexpr const char* name() const noexcept {
    return name_;
  }

private:
  const char* text_;
  char name_[20];
};

/// Runs `s` as a prepared statement in `tx` with `args` bound to $1, $2...
template <typename... Args>
pqxx::result exec(db_tx& tx, const sql_statement& s, Args&&... args) {
  std::string name{s.name()};
  tx.conn().prepare(name, s.text()); // a map lookup once prepared
  return tx.exec_prepared(name, std::forward<Args>(args)...);
}

} // namespace al
