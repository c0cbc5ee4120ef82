using System.Diagnostics;
using System.Globalization;
using Samsa.Protocol.Records;

namespace Samsa.Storage.Tests;

/// <summary>
/// Durability under SIGKILL: a child process appends with flush.messages=1 and prints an ACK after each append
/// returned; it is killed at random moments. After each kill the log is reopened as after an unclean shutdown
/// and every acknowledged batch must be present and intact, the log must end on a batch boundary and no index
/// entry may point past the end.
/// </summary>
public class CrashTests
{
    private const int SegmentBytes = 64 * 1024;

    private static string ChildDll()
    {
        // tests/Samsa.Storage.Tests/bin/<Configuration>/<tfm>/ -> tests/Samsa.Storage.CrashChild/bin/<Configuration>/<tfm>/
        var baseDir = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
        var tfm = baseDir.Name;
        var configuration = baseDir.Parent!.Name;
        var testsDir = baseDir.Parent.Parent!.Parent!.Parent!.FullName;
        var dll = Path.Combine(testsDir, "Samsa.Storage.CrashChild", "bin", configuration, tfm, "Samsa.Storage.CrashChild.dll");
        Assert.True(File.Exists(dll), $"crash child not built at {dll}");
        return dll;
    }

    [Fact]
    public void SigKill_AtRandomMoments_KeepsEveryFlushedBatch()
    {
        var dll = ChildDll();
        var random = new Random(20240611);
        var totalAcked = 0;
        TempDir? dir = null;
        var acked = new List<(long First, long Last, uint Crc)>();
        try
        {
            for (var iteration = 0; iteration < 200; iteration++)
            {
                if (iteration % 25 == 0)
                {
                    dir?.Dispose();
                    dir = new TempDir();
                    acked.Clear();
                }
                var newAcks = RunChildAndKill(dll, dir!.Path, random.Next(), random.Next(0, 120));
                acked.AddRange(newAcks);
                totalAcked += newAcks.Count;
                VerifyAfterCrash(dir.Path, acked, iteration);
            }
        }
        finally
        {
            dir?.Dispose();
        }
        Assert.True(totalAcked > 200, $"only {totalAcked} appends were acknowledged across all runs");
    }

    private static List<(long, long, uint)> RunChildAndKill(string dll, string logDir, int seed, int runMs)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(dll);
        start.ArgumentList.Add(logDir);
        start.ArgumentList.Add(seed.ToString(CultureInfo.InvariantCulture));
        start.ArgumentList.Add(SegmentBytes.ToString(CultureInfo.InvariantCulture));
        using var child = Process.Start(start)!;
        var lines = new List<string>();
        var ready = new ManualResetEventSlim();
        child.OutputDataReceived += (_, e) =>
        {
            if (e.Data is null)
            {
                return;
            }
            lock (lines)
            {
                lines.Add(e.Data);
            }
            if (e.Data.StartsWith("READY", StringComparison.Ordinal))
            {
                ready.Set();
            }
        };
        child.BeginOutputReadLine();
        child.BeginErrorReadLine();
        if (!ready.Wait(TimeSpan.FromSeconds(30)))
        {
            child.Kill(entireProcessTree: true);
            Assert.Fail("crash child did not start");
        }
        Thread.Sleep(runMs);
        child.Kill(entireProcessTree: true);   // SIGKILL on Unix
        child.WaitForExit();
        var acks = new List<(long, long, uint)>();
        lock (lines)
        {
            foreach (var line in lines)
            {
                var parts = line.Split(' ');
                if (parts.Length == 4 && parts[0] == "ACK" && long.TryParse(parts[1], CultureInfo.InvariantCulture, out var first)
                    && long.TryParse(parts[2], CultureInfo.InvariantCulture, out var last) && uint.TryParse(parts[3], CultureInfo.InvariantCulture, out var crc))
                {
                    acks.Add((first, last, crc));
                }
            }
        }
        return acks;
    }

    private static void VerifyAfterCrash(string logDir, List<(long First, long Last, uint Crc)> acked, int iteration)
    {
        var pointFile = Path.Combine(logDir, "recovery-point");
        var recoveryPoint = File.Exists(pointFile) ? long.Parse(File.ReadAllText(pointFile), CultureInfo.InvariantCulture) : 0;
        var config = LogConfig.Default with { FlushMessages = 1, SegmentBytes = SegmentBytes, IndexIntervalBytes = 256, SegmentIndexBytes = 64 * 1024 };
        using var log = PartitionLog.Open(logDir, "crash", 0, default, config, new LogOpenOptions { RecoveryPoint = recoveryPoint });
        var batches = LogInvariants.Scan(log).ToDictionary(b => b.Header.BaseOffset, b => b.Header);
        foreach (var (first, last, crc) in acked)
        {
            Assert.True(batches.TryGetValue(first, out var header), $"iteration {iteration}: acknowledged batch at {first} is missing (log end {log.LogEndOffset})");
            Assert.Equal(last, header.LastOffset);
            Assert.Equal(crc, header.Crc);
        }
        LogInvariants.Check(log);
        log.Close();
        File.WriteAllText(pointFile, log.LogEndOffset.ToString(CultureInfo.InvariantCulture));
    }

    /// <summary>Bytes flipped inside one batch of the tail: recovery truncates at that batch and keeps everything before it.</summary>
    [Fact]
    public void FlippedBytesInTail_RecoveryTruncatesExactlyAtTheDamagedBatch()
    {
        var random = new Random(99);
        var config = LogConfig.Default with { SegmentBytes = 16 * 1024, IndexIntervalBytes = 300 };
        for (var round = 0; round < 60; round++)
        {
            using var dir = new TempDir();
            List<(long Position, RecordBatchHeader Header)> before;
            string path;
            using (var log = Batches.Open(dir.Path, config))
            {
                for (var i = 0; i < 40; i++)
                {
                    log.Append(Batches.Make(1 + random.Next(4), 100 + random.Next(300), (CompressionType)random.Next(5), seed: i), 0);
                }
                before = LogInvariants.Scan(log).Where(b => b.Segment == log.ActiveSegment).Select(b => (b.Position, b.Header)).ToList();
                path = log.ActiveSegment.LogPath;
            }
            var victim = before[random.Next(before.Count)];
            var bytes = File.ReadAllBytes(path);
            if (round % 3 == 2)
            {
                // A torn write: the file ends inside the victim batch.
                bytes = bytes[..(int)(victim.Position + random.Next(1, victim.Header.SizeInBytes))];
            }
            else
            {
                // Flip bytes the CRC or framing covers: batch length, magic, or anything from the CRC on.
                var candidates = Enumerable.Range(RecordBatch.LengthOffset, 4).Concat(Enumerable.Range(RecordBatch.MagicOffset, victim.Header.SizeInBytes - RecordBatch.MagicOffset)).ToArray();
                var at = candidates[random.Next(candidates.Length)];
                bytes[victim.Position + at] ^= (byte)(1 + random.Next(255));
            }
            File.WriteAllBytes(path, bytes);
            using var recovered = Batches.Open(dir.Path, config);
            Assert.Equal(victim.Header.BaseOffset, recovered.LogEndOffset);
            Assert.Equal(victim.Position, recovered.ActiveSegment.Size);
            var after = LogInvariants.Scan(recovered).Where(b => b.Segment == recovered.ActiveSegment).Select(b => (b.Position, b.Header.BaseOffset)).ToList();
            Assert.Equal(before.TakeWhile(b => b.Position < victim.Position).Select(b => (b.Position, b.Header.BaseOffset)), after);
            LogInvariants.Check(recovered);
        }
    }
}
