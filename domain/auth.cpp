#include "domain/auth.hpp"

#include "core/crypto.hpp"

#include <memory>
#include <utility>

namespace al::domain::auth {

void find_token(const store& db, std::string token,
                std::function<void(token_lookup)> done) {
  auto found = std::make_shared<std::optional<api_token_row>>();
  db.run([hash = crypto::secret_hash(token),
          found](db_tx& tx) { *found = find_api_token(tx, hash); },
         [done = std::move(done), found](const db_error& err) {
           if (!err.empty())
             return done(
               token_lookup{{domain_code::unavailable, "Database unavailable"},
                            std::nullopt});
           done(token_lookup{{}, std::move(*found)});
         });
}

} // namespace al::domain::auth
