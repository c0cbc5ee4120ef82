using System.Buffers;
using System.Globalization;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace Samsa.Cli;

/// <summary>
/// The JSON event lines of Kafka's verifiable producer and consumer: one object per line on standard output,
/// <c>timestamp</c> (ms since the epoch) and <c>name</c> first, then the event's own fields in Kafka's order.
/// Lines from the client's callback thread and the main loop never interleave.
/// </summary>
internal sealed class VerifiableEvents
{
    private static readonly JsonWriterOptions Options = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
    private readonly Lock _lock = new();
    private readonly ArrayBufferWriter<byte> _buffer = new();
    private readonly Stream _stdout = Console.OpenStandardOutput();

    public void Emit(string name, Action<Utf8JsonWriter>? fields = null)
    {
        lock (_lock)
        {
            _buffer.ResetWrittenCount();
            using (var json = new Utf8JsonWriter(_buffer, Options))
            {
                json.WriteStartObject();
                json.WriteNumber("timestamp", DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
                json.WriteString("name", name);
                fields?.Invoke(json);
                json.WriteEndObject();
            }
            _stdout.Write(_buffer.WrittenSpan);
            _stdout.WriteByte((byte)'\n');
            _stdout.Flush();
        }
    }

    /// <summary>A double as Java's <c>Double.toString</c> writes it through Jackson: always with a fraction (<c>0.0</c>, <c>12.5</c>).</summary>
    public static void WriteJavaDouble(Utf8JsonWriter json, string name, double value)
    {
        if (!double.IsFinite(value))
        {
            // Jackson quotes NaN and infinities.
            json.WriteString(name, double.IsNaN(value) ? "NaN" : value > 0 ? "Infinity" : "-Infinity");
            return;
        }
        var text = value.ToString("R", CultureInfo.InvariantCulture);
        if (!text.Contains('.') && !text.Contains('E'))
        {
            text += ".0";
        }
        json.WritePropertyName(name);
        json.WriteRawValue(text);
    }
}
