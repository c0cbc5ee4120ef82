using System.Buffers.Binary;
using System.Globalization;
using Samsa.Protocol;
using Samsa.Protocol.Records;
using Samsa.Storage;

// Crash-test child: appends batches with flush.messages=1 and prints "ACK <firstOffset> <lastOffset> <crc>"
// after each append returned (so it was fsynced). The parent kills it with SIGKILL at a random moment.
// Usage: dotnet Samsa.Storage.CrashChild.dll <logDir> <seed> <segmentBytes>
var logDir = args[0];
var seed = int.Parse(args[1], CultureInfo.InvariantCulture);
var segmentBytes = int.Parse(args[2], CultureInfo.InvariantCulture);
var random = new Random(seed);
var config = LogConfig.Default with { FlushMessages = 1, SegmentBytes = segmentBytes, IndexIntervalBytes = 256, SegmentIndexBytes = 64 * 1024 };
var recoveryPoint = 0L;
var pointFile = Path.Combine(logDir, "recovery-point");
if (File.Exists(pointFile))
{
    recoveryPoint = long.Parse(File.ReadAllText(pointFile), CultureInfo.InvariantCulture);
}
using var log = PartitionLog.Open(logDir, "crash", 0, Uuid.Zero, config, new LogOpenOptions { RecoveryPoint = recoveryPoint });
var stdout = Console.Out;
stdout.WriteLine($"READY {log.LogEndOffset}");
stdout.Flush();
var value = new byte[random.Next(10, 3000)];
while (true)
{
    using var builder = new RecordBatchBuilder { Compression = (CompressionType)random.Next(0, 5) };
    var count = random.Next(1, 20);
    for (var i = 0; i < count; i++)
    {
        random.NextBytes(value);
        builder.Append(DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(), BitConverter.GetBytes(i), value[..random.Next(1, value.Length)]);
    }
    var batch = builder.Build();
    var info = log.Append(batch, leaderEpoch: 1);
    var crc = BinaryPrimitives.ReadUInt32BigEndian(batch.AsSpan(RecordBatch.CrcOffset));
    stdout.WriteLine($"ACK {info.FirstOffset} {info.LastOffset} {crc}");
    stdout.Flush();
}
