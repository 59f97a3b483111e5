// An HTTP answer with a JSON body, and the protocol's error shape.
#pragma once

#include <httplib.h>

#include <nlohmann/json.hpp>
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

inline void send(httplib::Response& res, const Answer& answer) {
  res.status = answer.status;
  res.set_content(answer.body.dump(), "application/json");
}

}  // namespace fep::sim
