// The pipelined load of one payload: a thread reads, decompresses, decodes and checks rows and
// groups them into chunks, while this thread writes the chunks to the database.
#include <atomic>
#include <thread>
#include <variant>

#include "agent/batch/csv_reader.h"
#include "agent/batch/payload_source.h"
#include "agent/sync/chunk_builder.h"
#include "agent/sync/chunk_queue.h"
#include "agent/sync/row_decoder.h"
#include "agent/sync/table_sink.h"

namespace fep {
namespace {

// Values held per chunk, at most: with the queue's chunks, this bounds memory. Four chunks give
// the reader slack to run ahead of the writer when the machine is busy.
constexpr size_t kChunkBytes = 4u << 20;
constexpr size_t kQueuedChunks = 4;

struct EndOfRows {
  uint64_t records = 0;
};
using LoadItem = std::variant<RowChunk, Rejection, EndOfRows>;

void produce(CsvReader& reader, const RowDecoder& decoder, ChunkBuilder& builder,
             BoundedQueue<LoadItem>& queue) {
  CsvRecord record;
  DecodedRow row;
  uint64_t records = 0;
  for (;;) {
    if (queue.closed()) return;  // the writer gave up: stop reading
    auto got = reader.next(record);
    if (!got) {
      queue.push(Rejection{RejectCode::payload_invalid, got.error().message});
      return;
    }
    if (!*got) break;
    if (auto st = decoder.decode(record, row); !st) {
      queue.push(st.error());
      return;
    }
    ++records;
    builder.add(row, record.line);
  }
  builder.finish();
  queue.push(EndOfRows{records});
}

std::string where(const RowChunk& chunk, const sql::WriteError& e) {
  if (e.row && *e.row < chunk.rows()) return "line " + std::to_string(chunk.lines[*e.row]);
  return "lines " + std::to_string(chunk.lines.front()) + "-" + std::to_string(chunk.lines.back());
}

}  // namespace

Expected<AppliedCounts, ApplyFailure> TableSink::load_rows(const Manifest& manifest,
                                                           const std::filesystem::path& payload,
                                                           const sql::TableSchema& into) {
  auto source = open_payload(payload, manifest.payload.compression, manifest.payload.encoding);
  if (!source) return Unexpected{reject(RejectCode::payload_invalid, source.error().message)};
  CsvReader reader(**source);
  CsvRecord header;
  auto got = reader.next(header);
  if (!got) return Unexpected{reject(RejectCode::payload_invalid, got.error().message)};
  if (!*got) return Unexpected{reject(RejectCode::payload_invalid, "the payload has no header")};
  auto decoder = RowDecoder::from_header(header, into, manifest.mode);
  if (!decoder) return Unexpected{ApplyFailure{ApplyFailure::Kind::reject, decoder.error()}};

  auto writer = dialect_->writer(*connection_, into);
  BoundedQueue<LoadItem> queue(kQueuedChunks);
  ChunkBuilder builder(into, decoder->key_columns(), *dialect_, dialect_->chunk_rows(), kChunkBytes,
                       [&](RowChunk&& chunk) { queue.push(std::move(chunk)); });
  std::thread producer([&] { produce(reader, *decoder, builder, queue); });
  // Whatever happens below, the producer is stopped and joined before its state goes away.
  struct Join {
    BoundedQueue<LoadItem>& queue;
    std::thread& thread;
    ~Join() {
      queue.close();
      thread.join();
    }
  } join{queue, producer};

  AppliedCounts counts;
  for (;;) {
    auto item = queue.pop();
    if (!item) return Unexpected{retry_later("the payload reader stopped unexpectedly")};
    if (auto* rejection = std::get_if<Rejection>(&*item))
      return Unexpected{ApplyFailure{ApplyFailure::Kind::reject, *rejection}};
    if (auto* end = std::get_if<EndOfRows>(&*item)) {
      if (end->records != manifest.row_count)
        return Unexpected{
            reject(RejectCode::payload_invalid, "the payload has " + std::to_string(end->records) +
                                                    " records but the manifest's row_count is " +
                                                    std::to_string(manifest.row_count))};
      return counts;
    }
    auto& chunk = std::get<RowChunk>(*item);
    sql::WriteResult written;
    switch (chunk.op) {
      case DecodedRow::Op::remove:
        written = writer->remove(chunk.columns);
        counts.deleted += static_cast<int64_t>(chunk.rows());
        break;
      case DecodedRow::Op::upsert:
        written = manifest.mode == BatchMode::full ? writer->insert(chunk.columns)
                                                   : writer->upsert(chunk.columns);
        counts.rows += static_cast<int64_t>(chunk.rows());
        break;
    }
    if (!written)
      return Unexpected{database_failure(where(chunk, written.error()), written.error().error)};
    report_progress(counts.rows + counts.deleted);
  }
}

}  // namespace fep
