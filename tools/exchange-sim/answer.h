// An HTTP answer with a JSON body, and the protocol's error shape.
#pragma once

#include <httplib.h>

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

namespace fep::sim {

struct Answer {
  int status = 200;
  nlohmann::json body;
};

// {"error": {"code": ..., "message": ...}}
inline Answer error_answer(int status, std::string_view code, std::string_view message) {
  return {status, {{"error", {{"code", code}, {"message", message}}}}};
}

// Serializes for the wire or a log. Strings taken from a request may hold bytes that are not UTF-8
// (a URL path, a body that is not JSON); they become U+FFFD instead of making dump() throw.
template <class Json>
std::string to_text(const Json& j) {
  return j.dump(-1, ' ', false, Json::error_handler_t::replace);
}

inline void send(httplib::Response& res, const Answer& answer) {
  res.status = answer.status;
  res.set_content(to_text(answer.body), "application/json");
}

}  // namespace fep::sim
