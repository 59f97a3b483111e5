#include "agent/store/audit_log.h"

namespace fep::store {

Status append_audit(Database&, const AuditRecord&) { return {}; }

}  // namespace fep::store
