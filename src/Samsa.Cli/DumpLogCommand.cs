using System.Buffers.Binary;
using System.CommandLine;
using System.Globalization;
using System.Text;
using Samsa.Cli.DumpLog;
using Samsa.Protocol;
using Samsa.Protocol.Records;
using Samsa.Storage;
using Samsa.Storage.ProducerState;

namespace Samsa.Cli;

/// <summary>
/// <c>samsa dump-log</c> = <c>kafka-dump-log.sh</c> (Kafka's <c>DumpLogSegments</c>): prints the batches and records
/// of <c>.log</c> segments and KRaft <c>.checkpoint</c> snapshots, the entries of <c>.index</c>, <c>.timeindex</c> and
/// <c>.txnindex</c> files and producer <c>.snapshot</c> files, in Kafka's text. Reads files only, no broker.
/// Index mismatches, time index errors and non-consecutive offsets are reported on stderr after all files.
/// </summary>
internal sealed class DumpLogCommand
{
    private const string RecordIndent = "|";

    private readonly Option<bool> _printDataLog = new("--print-data-log") { Description = "If set, printing the messages content when dumping data logs. Automatically set if any decoder option is specified." };
    private readonly Option<bool> _verifyIndexOnly = new("--verify-index-only") { Description = "If set, just verify the index log without printing its content." };
    private readonly Option<bool> _indexSanityCheck = new("--index-sanity-check") { Description = "If set, just checks the index sanity without printing its content. This is the same check that is executed on broker startup to determine if an index needs rebuilding or not." };
    private readonly Option<string> _files = new("--files") { Description = "REQUIRED: The comma separated list of data and index log files to be dumped." };
    private readonly Option<int> _maxMessageSize = new("--max-message-size") { Description = "Size of largest message.", DefaultValueFactory = _ => 5 * 1024 * 1024 };
    private readonly Option<int> _maxBytes = new("--max-bytes") { Description = "Limit the amount of total batches read in bytes avoiding reading the whole .log file(s).", DefaultValueFactory = _ => int.MaxValue };
    private readonly Option<bool> _deepIteration = new("--deep-iteration") { Description = "If set, uses deep instead of shallow iteration. Automatically set if print-data-log is enabled." };
    private readonly Option<string> _valueDecoder = new("--value-decoder-class") { Description = "If set, used to deserialize the messages. This class should implement org.apache.kafka.tools.api.Decoder trait. Only the default org.apache.kafka.tools.api.StringDecoder is available.", Arity = ArgumentArity.ZeroOrOne };
    private readonly Option<string> _keyDecoder = new("--key-decoder-class") { Description = "If set, used to deserialize the keys. This class should implement org.apache.kafka.tools.api.Decoder trait. Only the default org.apache.kafka.tools.api.StringDecoder is available.", Arity = ArgumentArity.ZeroOrOne };
    private readonly Option<bool> _offsetsDecoder = new("--offsets-decoder") { Description = "If set, log data will be parsed as offset data from the __consumer_offsets topic." };
    private readonly Option<bool> _transactionLogDecoder = new("--transaction-log-decoder") { Description = "If set, log data will be parsed as transaction metadata from the __transaction_state topic." };
    private readonly Option<bool> _clusterMetadataDecoder = new("--cluster-metadata-decoder") { Description = "If set, log data will be parsed as cluster metadata records." };
    private readonly Option<bool> _remoteLogMetadataDecoder = new("--remote-log-metadata-decoder") { Description = "If set, log data will be parsed as TopicBasedRemoteLogMetadataManager (RLMM) metadata records. Not supported: Samsa has no tiered storage." };
    private readonly Option<bool> _shareGroupStateDecoder = new("--share-group-state-decoder") { Description = "If set, log data will be parsed as share group state data from the __share_group_state topic." };
    private readonly Option<bool> _skipRecordMetadata = new("--skip-record-metadata") { Description = "Skip metadata when printing records. This flag also skips control records." };

    private readonly Dictionary<string, SortedDictionary<long, long>> _indexMismatches = new(StringComparer.Ordinal);
    private readonly Dictionary<string, List<(long Index, long Log)>> _timestampMismatches = new(StringComparer.Ordinal);
    private readonly Dictionary<string, List<(long Index, long Previous)>> _outOfOrderTimestamps = new(StringComparer.Ordinal);
    private readonly Dictionary<string, List<(long Index, long Log)>> _offsetsNotFound = new(StringComparer.Ordinal);
    private readonly Dictionary<string, SortedDictionary<long, long>> _nonConsecutive = new(StringComparer.Ordinal);
    private TextWriter _out = TextWriter.Null;

    public Command Build()
    {
        var command = new Command("dump-log", "This tool helps to parse a log file and dump its contents to the console, useful for debugging a seemingly corrupt log segment (kafka-dump-log.sh).");
        foreach (var option in new Option[] { _printDataLog, _verifyIndexOnly, _indexSanityCheck, _files, _maxMessageSize, _maxBytes, _deepIteration, _valueDecoder, _keyDecoder, _offsetsDecoder, _transactionLogDecoder, _clusterMetadataDecoder, _remoteLogMetadataDecoder, _shareGroupStateDecoder, _skipRecordMetadata })
        {
            command.Add(option);
        }
        command.SetAction((result, ct) => CommandRunner.RunAsync(() => Run(result), "", errorsToStdout: false));
        return command;
    }

    private Task Run(ParseResult r)
    {
        var files = r.GetValue(_files) ?? throw new CommandException("Missing required argument \"[files]\"");
        if (r.GetValue(_remoteLogMetadataDecoder))
        {
            throw new CommandException("--remote-log-metadata-decoder is not supported: Samsa has no tiered storage, so there are no remote log metadata records to decode.");
        }
        // Kafka: any decoder option implies --print-data-log, which implies --deep-iteration.
        var printData = r.GetValue(_printDataLog) || r.GetValue(_offsetsDecoder) || r.GetValue(_transactionLogDecoder) || r.GetValue(_clusterMetadataDecoder)
            || r.GetValue(_shareGroupStateDecoder) || r.GetResult(_valueDecoder) is not null || r.GetResult(_keyDecoder) is not null;
        var deep = r.GetValue(_deepIteration) || printData;
        _out = new StreamWriter(Console.OpenStandardOutput(), new UTF8Encoding(false), 1 << 16) { AutoFlush = false };
        try
        {
            foreach (var path in files.Split(','))
            {
                _out.WriteLine($"Dumping {path}");
                var name = Path.GetFileName(path);
                var dot = name.LastIndexOf('.');
                switch (dot < 0 ? "" : name[dot..])
                {
                    case ".log":
                    case ".checkpoint":
                        DumpLog(path, printData, deep, Parser(r), r.GetValue(_skipRecordMetadata), r.GetValue(_maxBytes));
                        break;
                    case ".index":
                        DumpIndex(path, r.GetValue(_indexSanityCheck), r.GetValue(_verifyIndexOnly), r.GetValue(_maxMessageSize));
                        break;
                    case ".timeindex":
                        DumpTimeIndex(path, r.GetValue(_indexSanityCheck), r.GetValue(_verifyIndexOnly));
                        break;
                    case ".snapshot":
                        DumpProducerSnapshot(path);
                        break;
                    case ".txnindex":
                        DumpTxnIndex(path);
                        break;
                    default:
                        _out.Flush();
                        Console.Error.WriteLine($"Ignoring unknown file {path}");
                        break;
                }
            }
        }
        finally
        {
            _out.Flush();
        }
        PrintErrors();
        return Task.CompletedTask;
    }

    private IRecordParser Parser(ParseResult r)
    {
        if (r.GetValue(_offsetsDecoder))
        {
            return new CoordinatorRecordParser("group-coordinator");
        }
        if (r.GetValue(_transactionLogDecoder))
        {
            return new CoordinatorRecordParser("transaction-coordinator");
        }
        if (r.GetValue(_clusterMetadataDecoder))
        {
            return new ClusterMetadataParser();
        }
        if (r.GetValue(_shareGroupStateDecoder))
        {
            return new CoordinatorRecordParser("share-coordinator");
        }
        foreach (var decoder in new[] { r.GetValue(_valueDecoder), r.GetValue(_keyDecoder) })
        {
            // Only Kafka's StringDecoder (and its pre-3.x name) exists here; another class cannot be loaded.
            if (decoder is not (null or "org.apache.kafka.tools.api.StringDecoder" or "kafka.serializer.StringDecoder"))
            {
                throw new CommandException("Failed to load decoder class");
            }
        }
        return new StringDecoderParser();
    }

    /// <summary>Kafka's <c>dumpLog</c>: one line per batch, then with deep iteration one per record.</summary>
    private void DumpLog(string path, bool printContents, bool deep, IRecordParser parser, bool skipRecordMetadata, int maxBytes)
    {
        var name = Path.GetFileName(path);
        if (name.EndsWith(".log", StringComparison.Ordinal))
        {
            _out.WriteLine($"Log starting offset: {BaseOffsetOf(path)}");
        }
        else if (name == "bootstrap.checkpoint")
        {
            _out.WriteLine("KRaft bootstrap snapshot");
        }
        else if (name.Length > 11 && name[..^11].Split('-') is [{ } snapshotEnd, { } snapshotEpoch])
        {
            _out.WriteLine($"Snapshot end offset: {long.Parse(snapshotEnd, CultureInfo.InvariantCulture)}, epoch: {int.Parse(snapshotEpoch, CultureInfo.InvariantCulture)}");
        }
        using var handle = OpenOrThrow(path);
        var fileSize = RandomAccess.GetLength(handle);
        var end = Math.Min(fileSize, maxBytes);
        using var scanner = new BatchScanner(handle, 0, end, wholeBatches: true);
        using var scratch = new PooledBuffer(64 * 1024);
        var validBytes = 0L;
        var lastOffset = -1L;
        while (scanner.MoveNext())
        {
            var batch = new RecordBatchView(scanner.Batch);
            PrintBatch(batch, validBytes);
            if (deep)
            {
                DumpRecords(batch, scratch, ref lastOffset, path, skipRecordMetadata, printContents, parser);
            }
            validBytes += batch.Header.SizeInBytes;
        }
        if (end - validBytes > 0 && maxBytes == int.MaxValue)
        {
            _out.WriteLine($"Found {end - validBytes} invalid bytes at the end of {name}");
        }
    }

    private static void PrintBatchPrefix(StringBuilder line, in RecordBatchHeader h)
    {
        line.Append(CultureInfo.InvariantCulture, $"baseOffset: {h.BaseOffset} lastOffset: {h.LastOffset} count: {h.RecordCount} baseSequence: {h.BaseSequence} lastSequence: {Sequence(h.BaseSequence, h.LastOffsetDelta)}");
        line.Append(CultureInfo.InvariantCulture, $" producerId: {h.ProducerId} producerEpoch: {h.ProducerEpoch} partitionLeaderEpoch: {h.PartitionLeaderEpoch}");
        line.Append(CultureInfo.InvariantCulture, $" isTransactional: {Bool((h.Attributes & RecordBatch.TransactionalMask) != 0)} isControl: {Bool(IsControl(h))}");
        // Kafka prints the OptionalLong itself: OptionalLong.empty, or OptionalLong[ms] when the batch carries one.
        line.Append((h.Attributes & RecordBatch.DeleteHorizonMask) != 0 ? $" deleteHorizonMs: OptionalLong[{h.BaseTimestamp}]" : " deleteHorizonMs: OptionalLong.empty");
    }

    private void PrintBatch(RecordBatchView batch, long position)
    {
        var h = batch.Header;
        var line = new StringBuilder(320);
        PrintBatchPrefix(line, h);
        line.Append(CultureInfo.InvariantCulture, $" position: {position} {h.TimestampType}: {h.MaxTimestamp} size: {h.SizeInBytes} magic: {h.Magic}");
        line.Append(CultureInfo.InvariantCulture, $" compresscodec: {CodecName(h.Compression)} crc: {h.Crc} isvalid: {Bool(batch.IsCrcValid)}");
        _out.WriteLine(line);
    }

    private void DumpRecords(RecordBatchView batch, PooledBuffer scratch, ref long lastOffset, string path, bool skipRecordMetadata, bool printContents, IRecordParser parser)
    {
        var h = batch.Header;
        var line = new StringBuilder(256);
        foreach (var record in batch.GetRecords(scratch))
        {
            var offset = h.BaseOffset + record.OffsetDelta;
            if (offset != lastOffset + 1)
            {
                NonConsecutive(path)[lastOffset] = offset;
            }
            lastOffset = offset;
            line.Clear();
            if (!skipRecordMetadata)
            {
                var timestamp = h.TimestampType == TimestampType.LogAppendTime ? h.MaxTimestamp : h.BaseTimestamp + record.TimestampDelta;
                line.Append(CultureInfo.InvariantCulture, $"{RecordIndent} offset: {offset} {h.TimestampType}: {timestamp} keySize: {(record.KeyIsNull ? -1 : record.Key.Length)} valueSize: {(record.ValueIsNull ? -1 : record.Value.Length)}");
                line.Append(CultureInfo.InvariantCulture, $" sequence: {Sequence(h.BaseSequence, record.OffsetDelta)} headerKeys: [");
                var first = true;
                foreach (var header in record.Headers)
                {
                    line.Append(first ? "" : ",").Append(Encoding.UTF8.GetString(header.Key));
                    first = false;
                }
                line.Append(']');
                if (IsControl(h))
                {
                    ControlRecordText.Append(line, record);
                }
            }
            if (printContents && !IsControl(h))
            {
                var prefix = skipRecordMetadata ? RecordIndent + " " : " ";
                var (key, value) = parser.Parse(offset, record.Key, record.KeyIsNull, record.Value, record.ValueIsNull);
                if (key is not null)
                {
                    line.Append(prefix).Append("key: ").Append(key);
                    prefix = " ";
                }
                if (value is not null)
                {
                    line.Append(prefix).Append("payload: ").Append(value);
                }
            }
            _out.WriteLine(line);
        }
    }

    /// <summary>Kafka's <c>dumpIndex</c>: each entry, checked against the last offset of the batch it points at.</summary>
    private void DumpIndex(string path, bool sanityOnly, bool verifyOnly, int maxMessageSize)
    {
        var baseOffset = BaseOffsetOf(path);
        var bytes = ReadAllOrThrow(path);
        var entries = bytes.Length / 8;
        if (entries == 0)
        {
            _out.WriteLine($"{path} is empty.");
            return;
        }
        if (sanityOnly)
        {
            var last = baseOffset + BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan((entries - 1) * 8));
            if (last < baseOffset)
            {
                throw new CommandException($"Corrupt index found, index file ({Path.GetFullPath(path)}) has non-zero size but the last offset is {last} which is less than the base offset {baseOffset}.");
            }
            if (bytes.Length % 8 != 0)
            {
                throw new CommandException($"Index file {Path.GetFileName(path)} is corrupt, found {bytes.Length} bytes which is neither positive nor a multiple of 8.");
            }
            _out.WriteLine($"{path} passed sanity check.");
            return;
        }
        using var log = OpenOrThrow(SiblingLog(path));
        var logSize = RandomAccess.GetLength(log);
        for (var i = 0; i < entries; i++)
        {
            var offset = baseOffset + BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(i * 8));
            var position = BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(i * 8 + 4));
            // A preallocated index ends in zero entries after a crash; Kafka stops at the first one.
            if (offset == baseOffset && i > 0)
            {
                return;
            }
            using var scanner = new BatchScanner(log, position, Math.Min(logSize, (long)position + maxMessageSize), wholeBatches: false);
            var batchLastOffset = scanner.MoveNext() ? scanner.Header.LastOffset : -1;
            if (batchLastOffset != offset)
            {
                if (!_indexMismatches.TryGetValue(Path.GetFullPath(path), out var mismatches))
                {
                    _indexMismatches[Path.GetFullPath(path)] = mismatches = new(Comparer<long>.Create((a, b) => b.CompareTo(a)));
                }
                mismatches[offset] = batchLastOffset;
            }
            if (!verifyOnly)
            {
                _out.WriteLine($"offset: {offset} position: {position}");
            }
        }
    }

    /// <summary>Kafka's <c>dumpTimeIndex</c>: each entry, checked against the max record timestamp of its batch.</summary>
    private void DumpTimeIndex(string path, bool sanityOnly, bool verifyOnly)
    {
        var baseOffset = BaseOffsetOf(path);
        var bytes = ReadAllOrThrow(path);
        var entries = bytes.Length / 12;
        (long Timestamp, long Offset) Entry(int i) =>
            (BinaryPrimitives.ReadInt64BigEndian(bytes.AsSpan(i * 12)), baseOffset + BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(i * 12 + 8)));
        if (sanityOnly)
        {
            if (entries > 0)
            {
                var (firstTimestamp, firstOffset) = Entry(0);
                var (lastTimestamp, lastOffset) = Entry(entries - 1);
                if (lastTimestamp < firstTimestamp)
                {
                    throw new CommandException($"Corrupt time index found, time index file ({Path.GetFullPath(path)}) has non-zero size but the last timestamp is {lastTimestamp} which is less than the first entry timestamp {firstTimestamp}");
                }
                if (lastOffset < firstOffset)
                {
                    throw new CommandException($"Corrupt time index found, time index file ({Path.GetFullPath(path)}) has non-zero size but the last offset is {lastOffset} which is less than the first entry offset {firstOffset}");
                }
            }
            if (bytes.Length % 12 != 0)
            {
                throw new CommandException($"Time index file {Path.GetFileName(path)} is corrupt, found {bytes.Length} bytes which is neither positive nor a multiple of 12.");
            }
            _out.WriteLine($"{path} passed sanity check.");
            return;
        }
        var offsetIndex = File.Exists(Path.ChangeExtension(path, ".index")) ? File.ReadAllBytes(Path.ChangeExtension(path, ".index")) : [];
        using var log = OpenOrThrow(SiblingLog(path));
        var logSize = RandomAccess.GetLength(log);
        using var scratch = new PooledBuffer(64 * 1024);
        var full = Path.GetFullPath(path);
        var previous = RecordBatch.NoTimestamp;
        for (var i = 0; i < entries; i++)
        {
            var (timestamp, offset) = Entry(i);
            if (offset == baseOffset && i > 0)
            {
                return;
            }
            using var scanner = new BatchScanner(log, LookupPosition(offsetIndex, baseOffset, offset), logSize, wholeBatches: true);
            var found = false;
            while (scanner.MoveNext())
            {
                if (scanner.Header.LastOffset < offset)
                {
                    continue;
                }
                found = true;
                if (scanner.Header.LastOffset != offset)
                {
                    Add(_offsetsNotFound, full, (offset, scanner.Header.LastOffset));
                    break;
                }
                var batch = new RecordBatchView(scanner.Batch);
                var max = RecordBatch.NoTimestamp;
                foreach (var record in batch.GetRecords(scratch))
                {
                    max = Math.Max(max, batch.Header.TimestampType == TimestampType.LogAppendTime ? batch.Header.MaxTimestamp : batch.Header.BaseTimestamp + record.TimestampDelta);
                }
                if (max != timestamp)
                {
                    Add(_timestampMismatches, full, (timestamp, max));
                }
                if (previous >= timestamp)
                {
                    Add(_outOfOrderTimestamps, full, (timestamp, previous));
                }
                break;
            }
            if (!found)
            {
                Add(_offsetsNotFound, full, (offset, -1L));
            }
            if (!verifyOnly)
            {
                _out.WriteLine($"timestamp: {timestamp} offset: {offset}");
            }
            previous = timestamp;
        }
    }

    /// <summary>The position of the offset index entry with the largest offset at most <paramref name="target"/>.</summary>
    private static long LookupPosition(byte[] index, long baseOffset, long target)
    {
        var position = 0;
        for (var i = 0; i < index.Length / 8; i++)
        {
            var offset = baseOffset + BinaryPrimitives.ReadInt32BigEndian(index.AsSpan(i * 8));
            if ((offset == baseOffset && i > 0) || offset > target)
            {
                break;
            }
            position = BinaryPrimitives.ReadInt32BigEndian(index.AsSpan(i * 8 + 4));
        }
        return position;
    }

    /// <summary>
    /// Kafka's <c>ProducerStateManager.readSnapshot</c> format: <c>int16 version (1) | uint32 crc32c of the rest |
    /// int32 count | entries</c>, each <c>producerId int64, epoch int16, lastSequence int32, lastOffset int64,
    /// offsetDelta int32, timestamp int64, coordinatorEpoch int32, currentTxnFirstOffset int64</c>.
    /// </summary>
    private void DumpProducerSnapshot(string path)
    {
        var bytes = ReadAllOrThrow(path);
        try
        {
            foreach (var entry in ProducerSnapshotFile.Read(bytes))
            {
                var line = new StringBuilder();
                line.Append(CultureInfo.InvariantCulture, $"producerId: {entry.ProducerId} producerEpoch: {entry.ProducerEpoch} coordinatorEpoch: {entry.CoordinatorEpoch}");
                line.Append(entry.CurrentTxnFirstOffset >= 0 ? $" currentTxnFirstOffset: OptionalLong[{entry.CurrentTxnFirstOffset}]" : " currentTxnFirstOffset: OptionalLong.empty");
                line.Append(CultureInfo.InvariantCulture, $" lastTimestamp: {entry.Timestamp}");
                if (entry.LastOffset >= 0)
                {
                    line.Append(CultureInfo.InvariantCulture, $" firstSequence: {FirstSequence(entry.LastSequence, entry.OffsetDelta)} lastSequence: {entry.LastSequence} lastOffset: {entry.LastOffset} offsetDelta: {entry.OffsetDelta} timestamp: {entry.Timestamp}");
                }
                _out.WriteLine(line);
            }
        }
        catch (ProtocolException e)
        {
            _out.Flush();
            Console.Error.WriteLine(e.Message);
        }
    }

    /// <summary>Kafka's <c>TransactionIndex</c>: 34-byte aborted-transaction entries.</summary>
    private void DumpTxnIndex(string path)
    {
        var bytes = ReadAllOrThrow(path);
        for (var p = 0; p + 34 <= bytes.Length; p += 34)
        {
            var e = bytes.AsSpan(p);
            _out.WriteLine($"version: {BinaryPrimitives.ReadInt16BigEndian(e)} producerId: {BinaryPrimitives.ReadInt64BigEndian(e[2..])} firstOffset: {BinaryPrimitives.ReadInt64BigEndian(e[10..])} lastOffset: {BinaryPrimitives.ReadInt64BigEndian(e[18..])} lastStableOffset: {BinaryPrimitives.ReadInt64BigEndian(e[26..])}");
        }
    }

    private void PrintErrors()
    {
        var err = Console.Error;
        foreach (var (file, mismatches) in _indexMismatches)
        {
            err.WriteLine($"Mismatches in :{file}");
            foreach (var (index, log) in mismatches)
            {
                err.WriteLine($"  Index offset: {index}, log offset: {log}");
            }
        }
        foreach (var (file, list) in _timestampMismatches)
        {
            err.WriteLine($"Found timestamp mismatch in :{file}");
            list.ForEach(m => err.WriteLine($"  Index timestamp: {m.Index}, log timestamp: {m.Log}"));
        }
        foreach (var (file, list) in _outOfOrderTimestamps)
        {
            err.WriteLine($"Found out of order timestamp in :{file}");
            list.ForEach(m => err.WriteLine($"  Index timestamp: {m.Index}, Previously indexed timestamp: {m.Previous}"));
        }
        foreach (var list in _offsetsNotFound.Values)
        {
            err.WriteLine("The following indexed offsets are not found in the log.");
            list.ForEach(m => err.WriteLine($"Indexed offset: {m.Index}, found log offset: {m.Log}"));
        }
        foreach (var (file, pairs) in _nonConsecutive)
        {
            err.WriteLine($"Non-consecutive offsets in {file}");
            foreach (var (from, to) in pairs)
            {
                err.WriteLine($"  {from} is followed by {to}");
            }
        }
    }

    private SortedDictionary<long, long> NonConsecutive(string path)
    {
        var full = Path.GetFullPath(path);
        if (!_nonConsecutive.TryGetValue(full, out var pairs))
        {
            _nonConsecutive[full] = pairs = [];
        }
        return pairs;
    }

    private static void Add<T>(Dictionary<string, List<T>> map, string file, T item)
    {
        if (!map.TryGetValue(file, out var list))
        {
            map[file] = list = [];
        }
        list.Add(item);
    }

    private static bool IsControl(in RecordBatchHeader h) => (h.Attributes & RecordBatch.ControlMask) != 0;

    private static string Bool(bool value) => value ? "true" : "false";

    /// <summary>Kafka's <c>CompressionType.name</c>.</summary>
    private static string CodecName(CompressionType type) => type switch
    {
        CompressionType.None => "none",
        CompressionType.Gzip => "gzip",
        CompressionType.Snappy => "snappy",
        CompressionType.Lz4 => "lz4",
        CompressionType.Zstd => "zstd",
        _ => type.ToString(),
    };

    /// <summary>Kafka's <c>DefaultRecordBatch.incrementSequence</c> from the base sequence; -1 without one.</summary>
    private static int Sequence(int baseSequence, int delta) =>
        baseSequence == RecordBatch.NoSequence ? RecordBatch.NoSequence : baseSequence > int.MaxValue - delta ? delta - (int.MaxValue - baseSequence) - 1 : baseSequence + delta;

    /// <summary>Kafka's <c>DefaultRecordBatch.decrementSequence</c>, for a snapshot entry's first sequence.</summary>
    private static int FirstSequence(int lastSequence, int delta) =>
        lastSequence < delta ? int.MaxValue - (delta - lastSequence) + 1 : lastSequence - delta;

    private static long BaseOffsetOf(string path)
    {
        var name = Path.GetFileName(path);
        return long.TryParse(name.Split('.')[0], NumberStyles.None, CultureInfo.InvariantCulture, out var offset)
            ? offset
            : throw new CommandException($"For input string: \"{name.Split('.')[0]}\"");
    }

    private static string SiblingLog(string path) => Path.Combine(Path.GetDirectoryName(Path.GetFullPath(path))!, Path.GetFileName(path).Split('.')[0] + ".log");

    private static Microsoft.Win32.SafeHandles.SafeFileHandle OpenOrThrow(string path) =>
        File.Exists(path) ? File.OpenHandle(path) : throw new CommandException(path);

    private static byte[] ReadAllOrThrow(string path) =>
        File.Exists(path) ? File.ReadAllBytes(path) : throw new CommandException(path);
}
