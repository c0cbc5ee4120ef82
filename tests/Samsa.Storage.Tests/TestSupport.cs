using Microsoft.Extensions.Time.Testing;
using Samsa.Protocol;
using Samsa.Protocol.Records;

namespace Samsa.Storage.Tests;

/// <summary>A temporary log directory removed after the test.</summary>
public sealed class TempDir : IDisposable
{
    public TempDir()
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "samsa-storage-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
            // A handle still open on Windows; nothing to do on Linux.
        }
    }
}

public static class Batches
{
    public const long T0 = 1_700_000_000_000;

    public static FakeTimeProvider Clock() => new(DateTimeOffset.FromUnixTimeMilliseconds(T0));

    /// <summary>A batch of <paramref name="count"/> records with keys "k{i}" and values of <paramref name="valueSize"/> bytes.</summary>
    public static byte[] Make(int count, int valueSize = 100, CompressionType compression = CompressionType.None, long timestamp = T0, string keyPrefix = "k", int seed = 0)
    {
        using var builder = new RecordBatchBuilder { Compression = compression };
        var random = new Random(seed);
        for (var i = 0; i < count; i++)
        {
            var value = new byte[valueSize];
            random.NextBytes(value);
            builder.Append(timestamp + i, System.Text.Encoding.UTF8.GetBytes($"{keyPrefix}{i}"), value);
        }
        return builder.Build();
    }

    public static byte[] Keyed(long timestamp, params (string Key, string? Value)[] records)
    {
        using var builder = new RecordBatchBuilder();
        foreach (var (key, value) in records)
        {
            builder.Append(timestamp, System.Text.Encoding.UTF8.GetBytes(key), value is null ? null : System.Text.Encoding.UTF8.GetBytes(value));
        }
        return builder.Build();
    }

    public static PartitionLog Open(string dir, LogConfig? config = null, TimeProvider? time = null, LogOpenOptions? options = null) =>
        PartitionLog.Open(dir, "t", 0, new Uuid(1, 2), config ?? LogConfig.Default, (options ?? new LogOpenOptions()) with { Time = time ?? TimeProvider.System });

    /// <summary>Reads every batch header from the log start by walking Read, as a consumer would.</summary>
    public static List<(RecordBatchHeader Header, byte[] Bytes)> ReadAll(IPartitionLog log, long from = -1)
    {
        var result = new List<(RecordBatchHeader, byte[])>();
        var offset = from < 0 ? log.LogStartOffset : from;
        while (offset < log.LogEndOffset)
        {
            var read = log.Read(offset, 1 << 20, FetchIsolation.LogEnd);
            var bytes = read.Records.ToArray();
            var position = 0;
            var progressed = false;
            while (bytes.Length - position >= RecordBatch.HeaderSize)
            {
                var size = RecordBatch.TotalSize(bytes.AsSpan(position));
                if (size > bytes.Length - position)
                {
                    break;
                }
                var header = RecordBatchHeader.Read(bytes.AsSpan(position));
                result.Add((header, bytes.AsSpan(position, size).ToArray()));
                offset = header.NextOffset;
                position += size;
                progressed = true;
            }
            if (!progressed)
            {
                break;
            }
        }
        return result;
    }

    /// <summary>Every (offset, key, value) in the log, decompressing as needed.</summary>
    public static List<(long Offset, string Key, string? Value)> Records(IPartitionLog log)
    {
        var list = new List<(long, string, string?)>();
        using var scratch = new PooledBuffer();
        foreach (var (header, bytes) in ReadAll(log))
        {
            var view = new RecordBatchView(bytes);
            foreach (var record in view.GetRecords(scratch))
            {
                list.Add((header.BaseOffset + record.OffsetDelta, System.Text.Encoding.UTF8.GetString(record.Key),
                    record.ValueIsNull ? null : System.Text.Encoding.UTF8.GetString(record.Value)));
            }
        }
        return list;
    }

    public static string Hex(ReadOnlySpan<byte> bytes) => Convert.ToHexString(bytes).ToLowerInvariant();

    public static byte[] FromHex(string text)
    {
        var clean = new System.Text.StringBuilder();
        foreach (var line in text.Split('\n'))
        {
            var content = line.Contains('#') ? line[..line.IndexOf('#')] : line;
            foreach (var c in content)
            {
                if (Uri.IsHexDigit(c))
                {
                    clean.Append(c);
                }
            }
        }
        return Convert.FromHexString(clean.ToString());
    }
}
