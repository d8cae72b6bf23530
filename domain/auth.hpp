#pragma once

// Use cases of API tokens as credentials: the hash they are stored by, and
// the lookup behind every bearer that is not the admin token
// (transport/auth.hpp's require()). Roles and what they may do are
// transport's.

#include "actors/businesses.hpp"
#include "actors/domain.hpp"

#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace al::domain::auth {

/// The live token, nullopt when none has that value; status unavailable
/// ("Database unavailable") whenever the lookup failed, whatever the
/// reason: a bearer that cannot be checked is neither accepted nor refused.
struct token_lookup {
  domain_status status;
  std::optional<api_token_row> token;
};

void find_token(const store& db, std::string token,
                std::function<void(token_lookup)> done);

} // namespace al::domain::auth
