using System.Text.Json;
using System.Text.Json.Serialization;

namespace Samsa.Interop.Tests.Jepsen;

/// <summary>
/// One operation of a Jepsen history, as the workload clients write it (one JSON object a line; see
/// <c>Samsa.Interop.ConfluentClient/JepsenWorkload.cs</c>):
/// <list type="bullet">
/// <item><c>send</c>: <c>invoke</c> with the value and the partition it is sent to, then <c>ok</c> with the offset the
/// broker acknowledged, <c>fail</c> (certainly not written: librdkafka's NotPersisted) or <c>info</c> (perhaps written).
/// A send with no completion is indeterminate too.</item>
/// <item><c>poll</c>: one <c>ok</c> line per record a consumer read: partition, offset, value.</item>
/// <item><c>reset</c>: the consumer re-assigned (partition null: all of them) and starts again from an earlier offset.</item>
/// <item><c>end</c>: the final reader's end offset of a partition, which it read up to.</item>
/// <item><c>fatal</c>: a producer's fatal error (it then starts a new producer).</item>
/// </list>
/// <paramref name="Time"/> is microseconds since the Unix epoch, from the client's clock (all on one machine).
/// </summary>
public sealed record HistoryOp(
    string Type,
    string F,
    int Process,
    long Time,
    int? Partition = null,
    long? Value = null,
    long? Offset = null,
    string? Error = null)
{
    public static HistoryOp Invoke(int process, long value, int partition, long time = 0) => new("invoke", "send", process, time, partition, value);

    public static HistoryOp Ack(int process, long value, int partition, long offset, long time = 0) => new("ok", "send", process, time, partition, value, offset);

    public static HistoryOp Fail(int process, long value, int partition, long time = 0) => new("fail", "send", process, time, partition, value, Error: "not persisted");

    public static HistoryOp Info(int process, long value, int partition, long time = 0) => new("info", "send", process, time, partition, value, Error: "possibly persisted");

    public static HistoryOp Poll(int process, int partition, long offset, long value, long time = 0) => new("ok", "poll", process, time, partition, value, offset);

    public static HistoryOp Reset(int process, int? partition = null, long time = 0) => new("ok", "reset", process, time, partition);

    public static HistoryOp End(int process, int partition, long endOffset, long time = 0) => new("ok", "end", process, time, partition, Offset: endOffset);

    public override string ToString() => JsonSerializer.Serialize(this, History.Json);
}

/// <summary>Reads and writes histories as JSON lines.</summary>
public static class History
{
    public static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        PropertyNameCaseInsensitive = true,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    /// <summary>
    /// The operations of one client's history file, in the order it wrote them; a last line cut short (a client that
    /// died mid-write) is skipped, any other line that does not parse is an error.
    /// </summary>
    public static List<HistoryOp> Read(string path)
    {
        var lines = File.ReadAllLines(path);
        var ops = new List<HistoryOp>(lines.Length);
        for (var i = 0; i < lines.Length; i++)
        {
            var line = lines[i].Trim();
            if (line.Length == 0)
            {
                continue;
            }
            try
            {
                ops.Add(JsonSerializer.Deserialize<HistoryOp>(line, Json) ?? throw new JsonException("null"));
            }
            catch (JsonException) when (i == lines.Length - 1)
            {
            }
            catch (JsonException e)
            {
                throw new InvalidDataException($"{path}:{i + 1}: {e.Message}: {line}", e);
            }
        }
        return ops;
    }

    public static void Write(string path, IEnumerable<HistoryOp> ops) =>
        File.WriteAllLines(path, ops.Select(op => JsonSerializer.Serialize(op, Json)));
}
