#pragma once

// std::optional fields for CAF 0.17's inspectors, which know none: written
// as a flag and the value, put back in place after loading. For the
// `inspect` overloads of the registered message types (actors/*_protocol*).

#include <caf/error.hpp>
#include <caf/meta/load_callback.hpp>
#include <caf/none.hpp>

#include <optional>
#include <utility>

namespace al {

template <class T>
struct optional_field {
  std::optional<T>& ref;
};

/// `f(..., opt_field(x.maybe), ...)` inside an inspect overload.
template <class T>
optional_field<T> opt_field(std::optional<T>& x) {
  return optional_field<T>{x};
}

template <class Inspector, class T>
typename Inspector::result_type inspect(Inspector& f, optional_field<T>& x) {
  bool has = x.ref.has_value();
  T value = has ? *x.ref : T{};
  return f(has, value, caf::meta::load_callback([&]() -> caf::error {
             if (has)
               x.ref = std::move(value);
             else
               x.ref.reset();
             return caf::none;
           }));
}

} // namespace al
