using System.Diagnostics;
using System.Globalization;
using Samsa.Protocol;
using Samsa.Protocol.Records;
using Samsa.Storage;

// Storage engine throughput beside a plain FileStream on the same disk in the same run.
// Workload: 1 KiB records in 16 KiB batches (16 records per batch), appended sequentially, then read back
// sequentially in 1 MiB fetches (max.partition.fetch.bytes' default) into a buffer.
// Usage: dotnet run -c Release --project bench/Samsa.Storage.Benchmarks -- [totalMiB=512] [rounds=3] [dir=/tmp]
var totalMiB = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 512;
var rounds = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 3;
var root = args.Length > 2 ? args[2] : Path.GetTempPath();
const int RecordSize = 1024;
const int RecordsPerBatch = 16;
const int FetchBytes = 1024 * 1024;

var random = new Random(1);
var template = new List<byte[]>();
for (var i = 0; i < 64; i++)
{
    using var builder = new RecordBatchBuilder();
    var value = new byte[RecordSize];
    for (var r = 0; r < RecordsPerBatch; r++)
    {
        random.NextBytes(value);
        builder.Append(DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(), null, value);
    }
    template.Add(builder.Build());
}
var batchSize = template[0].Length;
var batchCount = (int)((long)totalMiB * 1024 * 1024 / batchSize);
var totalBytes = (long)batchCount * batchSize;

Console.WriteLine($"Storage engine benchmark: {batchCount} batches of {batchSize} bytes ({RecordsPerBatch} x {RecordSize} B records), {totalBytes / (1024.0 * 1024):F0} MiB per run, {rounds} rounds");
Console.WriteLine($"Machine: {Environment.ProcessorCount} cores, {System.Runtime.InteropServices.RuntimeInformation.OSDescription}, .NET {Environment.Version}, dir {root}");

double Mbps(long bytes, TimeSpan t) => bytes / (1024.0 * 1024) / t.TotalSeconds;

var rawWrite = new List<double>();
var rawRead = new List<double>();
var logWrite = new List<double>();
var logRead = new List<double>();
var buffer = new byte[FetchBytes + 64 * 1024];
for (var round = 0; round < rounds; round++)
{
    var dir = Path.Combine(root, "samsa-bench-" + Guid.NewGuid().ToString("N"));
    Directory.CreateDirectory(dir);
    var rawPath = Path.Combine(dir, "plain.bin");
    try
    {
        using var log = PartitionLog.Open(dir, "bench", 0, Uuid.Random(), LogConfig.Default);

        void PlainWrite()
        {
            var sw = Stopwatch.StartNew();
            using (var stream = new FileStream(rawPath, FileMode.Create, FileAccess.Write, FileShare.Read, bufferSize: 0))
            {
                for (var i = 0; i < batchCount; i++)
                {
                    stream.Write(template[i % template.Count]);
                }
            }
            rawWrite.Add(Mbps(totalBytes, sw.Elapsed));
        }

        void EngineAppend()
        {
            // Validated append: CRC and record walk, offset assignment, index maintenance.
            var sw = Stopwatch.StartNew();
            for (var i = 0; i < batchCount; i++)
            {
                log.Append(template[i % template.Count], 0);
            }
            logWrite.Add(Mbps(totalBytes, sw.Elapsed));
        }

        void PlainRead()
        {
            var sw = Stopwatch.StartNew();
            long readTotal = 0;
            using (var stream = new FileStream(rawPath, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 0))
            {
                int n;
                while ((n = stream.Read(buffer, 0, FetchBytes)) > 0)
                {
                    readTotal += n;
                }
            }
            rawRead.Add(Mbps(readTotal, sw.Elapsed));
        }

        void EngineRead()
        {
            // Fetch-sized reads of file regions; the next fetch starts after the last complete batch, as a consumer's would.
            var sw = Stopwatch.StartNew();
            long offset = 0, engineRead = 0;
            var end = log.LogEndOffset;
            while (offset < end)
            {
                var region = log.Read(offset, FetchBytes, FetchIsolation.LogEnd, minOneMessage: true).Records;
                var n = region.CopyTo(buffer.AsSpan(0, region.Length));
                engineRead += n;
                var position = 0;
                while (n - position >= RecordBatch.LogOverhead)
                {
                    var size = RecordBatch.TotalSize(buffer.AsSpan(position, n - position));
                    if (size > n - position)
                    {
                        break;
                    }
                    offset = RecordBatchHeader.Read(buffer.AsSpan(position)).NextOffset;
                    position += size;
                }
            }
            logRead.Add(Mbps(engineRead, sw.Elapsed));
        }

        // Alternate which goes first so neither always meets a colder or fuller page cache.
        if (round % 2 == 0)
        {
            PlainWrite();
            EngineAppend();
        }
        else
        {
            EngineAppend();
            PlainWrite();
        }
        for (var pass = 0; pass < 3; pass++)
        {
            PlainRead();
            EngineRead();
        }
    }
    finally
    {
        Directory.Delete(dir, recursive: true);
    }
    Console.WriteLine($"round {round + 1}: plain write {rawWrite[^1]:F0} MB/s, engine append {logWrite[^1]:F0} MB/s; plain read {rawRead[^1]:F0} MB/s, engine read {logRead[^1]:F0} MB/s");
}

static double Median(List<double> values)
{
    var sorted = values.Order().ToList();
    return sorted[sorted.Count / 2];
}

Console.WriteLine();
Console.WriteLine("| operation | plain FileStream MB/s | engine MB/s | engine / plain |");
Console.WriteLine("| --- | --- | --- | --- |");
Console.WriteLine($"| sequential append | {Median(rawWrite):F0} | {Median(logWrite):F0} | {Median(logWrite) / Median(rawWrite):P0} |");
Console.WriteLine($"| sequential read | {Median(rawRead):F0} | {Median(logRead):F0} | {Median(logRead) / Median(rawRead):P0} |");
