using System.Buffers.Binary;
using Samsa.Broker.Network;
using Samsa.Broker.Replication;
using Samsa.Broker.Security;
using Samsa.Protocol;
using Samsa.Protocol.Messages;
using Samsa.Protocol.Records;
using static Samsa.Protocol.Messages.ProduceResponse;

namespace Samsa.Broker.Handlers;

/// <summary>
/// Produce (key 0), versions 3-11: the versions that carry v2 record batches (magic 2); older ones are not
/// served and not advertised.
/// <list type="bullet">
/// <item>acks 0: nothing is sent back; a partition error closes the connection, which is how Kafka tells an
/// acks=0 producer something went wrong.</item>
/// <item>acks 1: answered once the batch is in the leader's log.</item>
/// <item>acks -1: answered when the high watermark covers the batch (at once on one node), or with
/// REQUEST_TIMED_OUT after <c>timeout_ms</c>; NOT_ENOUGH_REPLICAS when the ISR is below
/// <c>min.insync.replicas</c>.</item>
/// <item>any other acks: INVALID_REQUIRED_ACKS for every partition.</item>
/// </list>
/// Per-partition errors are Kafka's: UNKNOWN_TOPIC_OR_PARTITION, NOT_LEADER_OR_FOLLOWER, and the log's own
/// refusals (CORRUPT_MESSAGE, MESSAGE_TOO_LARGE, RECORD_LIST_TOO_LARGE, INVALID_TIMESTAMP, INVALID_RECORD), after
/// Kafka's request check (<see cref="ValidateRecords"/>): one magic 2 batch per partition, else INVALID_RECORD.
/// A transactional batch for a partition where its producer has no transaction open yet is first checked with the
/// transaction coordinator (KIP-890 part 1, <c>transaction.partition.verification.enable</c>): a partition the producer
/// did not add to its transaction is INVALID_TXN_STATE, a fenced producer INVALID_PRODUCER_EPOCH, and nothing is written.
/// A client over its producer_byte_rate gets its answer with throttle_time_ms, and then its connection is muted that long.
/// </summary>
public sealed class ProduceHandler(ReplicaManager replicas, ProduceHandler.TransactionVerifier? verifyTransaction = null,
    Samsa.Broker.Quotas.ClientQuotaManager? produceQuota = null) : ApiHandler<ProduceRequest, ProduceResponse>
{
    /// <summary>Asks the transaction coordinator whether a partition is in the producer's ongoing transaction (NONE when it is).</summary>
    public delegate Task<ErrorCode> TransactionVerifier(string transactionalId, long producerId, short producerEpoch, string topic, int partition,
        CancellationToken cancellationToken);

    public override ApiKey ApiKey => ApiKey.Produce;

    public override short MinVersion => 3;

    public override short MaxVersion => 11;

    protected override async ValueTask<ProduceResponse?> HandleAsync(RequestContext context, ProduceRequest request, CancellationToken cancellationToken)
    {
        var acks = request.Acks;
        var response = new ProduceResponse();
        var waiting = new List<(AcksAllWait Wait, PartitionProduceResponse Answer)>();
        var anyError = false;
        // Kafka: a transactional produce needs WRITE on its transactional id (else every partition fails), and each
        // topic needs WRITE on the topic.
        var transactionalIdDenied = request.TransactionalId is { } transactionalId
            && !context.Authorize(AclOperation.Write, AclResourceType.TransactionalId, transactionalId);
        foreach (var topic in request.TopicData)
        {
            var topicResponse = new TopicProduceResponse { Name = topic.Name };
            response.Responses.Add(topicResponse);
            var topicDenied = !transactionalIdDenied && !context.Authorize(AclOperation.Write, AclResourceType.Topic, topic.Name);
            foreach (var partition in topic.PartitionData)
            {
                var answer = new PartitionProduceResponse { Index = partition.Index, BaseOffset = -1 };
                topicResponse.PartitionResponses.Add(answer);
                if (transactionalIdDenied)
                {
                    answer.ErrorCode = (short)ErrorCode.TransactionalIdAuthorizationFailed;
                }
                else if (topicDenied)
                {
                    answer.ErrorCode = (short)ErrorCode.TopicAuthorizationFailed;
                }
                else if (acks is not (-1 or 0 or 1))
                {
                    answer.ErrorCode = (short)ErrorCode.InvalidRequiredAcks;
                }
                else if (partition.Records is not { Length: > 0 } records)
                {
                    answer.ErrorCode = (short)ErrorCode.InvalidRecord;
                    answer.ErrorMessage = "Produce request carries no record batch";
                }
                else if (ValidateRecords(context.ApiVersion, records.Span, out var batchLength) is { } refusal)
                {
                    answer.ErrorCode = (short)refusal.Error;
                    answer.ErrorMessage = refusal.Message;
                }
                else if (await VerifyTransactionAsync(request.TransactionalId, topic.Name, partition.Index, records, cancellationToken) is { } refused)
                {
                    answer.ErrorCode = (short)refused;
                }
                else
                {
                    // Bytes after the one batch that do not frame a batch are dropped, as Kafka's trimInvalidBytes does.
                    var result = replicas.Append(topic.Name, partition.Index, records[..batchLength], acks);
                    if (result.Error != ErrorCode.UnknownTopicOrPartition)
                    {
                        // Kafka counts every partition reaching the append; a failure only when it is none of the
                        // routine refusals (its appendToLocalLog catch list), and a too-large batch's bytes as rejected.
                        replicas.Metrics?.RecordProduce(topic.Name,
                            failed: result.Error is not (ErrorCode.None or ErrorCode.NotLeaderOrFollower or ErrorCode.MessageTooLarge
                                or ErrorCode.RecordListTooLarge or ErrorCode.CorruptMessage or ErrorCode.KafkaStorageError),
                            rejectedBytes: result.Error == ErrorCode.MessageTooLarge ? batchLength : 0);
                    }
                    answer.ErrorCode = (short)result.Error;
                    answer.ErrorMessage = result.Message;
                    foreach (var e in result.RecordErrors)
                    {
                        answer.RecordErrors.Add(new BatchIndexAndErrorMessage { BatchIndex = e.BatchIndex, BatchIndexErrorMessage = e.Message });
                    }
                    if (result.Error == ErrorCode.None)
                    {
                        answer.BaseOffset = result.Info.FirstOffset;
                        answer.LogAppendTimeMs = result.Info.LogAppendTime;
                        answer.LogStartOffset = result.Info.LogStartOffset;
                        if (acks == -1)
                        {
                            waiting.Add((result.Wait, answer));
                        }
                    }
                }
                anyError |= answer.ErrorCode != 0;
            }
        }

        if (acks == 0)
        {
            // Kafka charges an acks=0 produce too, and mutes the connection though no answer goes back.
            context.RecordQuota(produceQuota, context.RequestSize);
            if (anyError)
            {
                throw new InvalidRequestException("Closing connection: an acks=0 produce failed on at least one partition");
            }
            return null;
        }
        if (waiting.Count > 0)
        {
            var delayed = new DelayedProduce(TimeSpan.FromMilliseconds(Math.Max(0, request.TimeoutMs)), [.. waiting.Select(w => w.Wait)]);
            replicas.ProducePurgatory.TryCompleteElseWatch(delayed, [.. waiting.Select(w => w.Wait.Log.TopicPartition).Distinct()]);
            var waitStarted = System.Diagnostics.Stopwatch.GetTimestamp();
            var outcomes = await delayed.Completion.WaitAsync(cancellationToken);
            context.Connection.AddRemoteTime(waitStarted);
            for (var i = 0; i < waiting.Count; i++)
            {
                if (outcomes[i] != ErrorCode.None)
                {
                    // Kafka's answer for a partition whose acks=all wait failed: the error, no offset.
                    waiting[i].Answer.ErrorCode = (short)outcomes[i];
                    waiting[i].Answer.BaseOffset = -1;
                }
            }
        }
        // Kafka's produce quota: the request's size, charged once the append completed (KafkaApis.handleProduceRequest).
        response.ThrottleTimeMs = context.RecordQuota(produceQuota, context.RequestSize);
        return response;
    }

    /// <summary>
    /// KIP-890 part 1: the first transactional batch of a producer on a partition is appended only if the coordinator has
    /// the partition in the producer's ongoing transaction. Null when the batch may go on.
    /// </summary>
    private async ValueTask<ErrorCode?> VerifyTransactionAsync(string? transactionalId, string topic, int partition, ReadOnlyMemory<byte> records,
        CancellationToken cancellationToken)
    {
        if (verifyTransaction is null || transactionalId is null)
        {
            return null;
        }
        var header = RecordBatchHeader.Read(records.Span);
        if (!header.IsTransactional || !header.HasProducerId
            || replicas.LeaderLog(topic, partition).Log is not { } log || log.HasOngoingTransaction(header.ProducerId))
        {
            return null;
        }
        var error = await verifyTransaction(transactionalId, header.ProducerId, header.ProducerEpoch, topic, partition, cancellationToken);
        return error switch
        {
            ErrorCode.None => null,
            ErrorCode.ProducerFenced or ErrorCode.InvalidProducerEpoch => ErrorCode.InvalidProducerEpoch,
            ErrorCode.NotCoordinator or ErrorCode.CoordinatorNotAvailable or ErrorCode.CoordinatorLoadInProgress or ErrorCode.ConcurrentTransactions
                => ErrorCode.NotEnoughReplicas,
            _ => ErrorCode.InvalidTxnState,
        };
    }

    /// <summary>
    /// Kafka's <c>ProduceRequest.validateRecords</c> for v3 and later, over the batch framing of its
    /// <c>ByteBufferLogInputStream</c>: exactly one batch per partition and it must be magic 2, so an old (magic 0/1)
    /// message set or too few bytes to frame any batch is INVALID_RECORD; a size below the smallest legacy record or
    /// an unknown magic is CORRUPT_MESSAGE; zstd needs v7. The log then checks the batch itself (CRC, header size).
    /// Returns null and the length of the batch when it may be appended.
    /// </summary>
    internal static (ErrorCode Error, string Message)? ValidateRecords(short version, ReadOnlySpan<byte> records, out int batchLength)
    {
        batchLength = 0;
        switch (NextBatch(records, out var length, out var corruption))
        {
            case Framing.Corrupt:
                return (ErrorCode.CorruptMessage, corruption!);
            case Framing.None:
                return (ErrorCode.InvalidRecord, $"Produce requests with version {version} must have at least one record batch per partition");
        }
        if (records[RecordBatch.MagicOffset] != RecordBatch.CurrentMagic)
        {
            return (ErrorCode.InvalidRecord, $"Produce requests with version {version} are only allowed to contain record batches with magic version 2");
        }
        if (version < 7 && length > RecordBatch.AttributesOffset + 1
            && (CompressionType)(records[RecordBatch.AttributesOffset + 1] & RecordBatch.CompressionMask) == CompressionType.Zstd)
        {
            return (ErrorCode.UnsupportedCompressionType, $"Produce requests with version {version} are not allowed to use ZStandard compression");
        }
        switch (NextBatch(records[length..], out _, out corruption))
        {
            case Framing.Corrupt:
                return (ErrorCode.CorruptMessage, corruption!);
            case Framing.Batch:
                return (ErrorCode.InvalidRecord, $"Produce requests with version {version} are only allowed to contain exactly one record batch per partition");
        }
        batchLength = length;
        return null;
    }

    private enum Framing
    {
        None,
        Batch,
        Corrupt,
    }

    /// <summary>Kafka's <c>ByteBufferLogInputStream.nextBatch</c>: whether the bytes start with a whole batch of any magic.</summary>
    private static Framing NextBatch(ReadOnlySpan<byte> buffer, out int size, out string? corruption)
    {
        // Kafka's LegacyRecord.RECORD_OVERHEAD_V0 (crc, magic, attributes, key and value lengths) and the bytes up to the magic.
        const int MinRecordOverhead = 14;
        const int HeaderSizeUpToMagic = RecordBatch.MagicOffset + 1;
        size = 0;
        corruption = null;
        if (buffer.Length < RecordBatch.LogOverhead)
        {
            return Framing.None;
        }
        var recordSize = BinaryPrimitives.ReadInt32BigEndian(buffer[RecordBatch.LengthOffset..]);
        if (recordSize < MinRecordOverhead)
        {
            corruption = $"Record size {recordSize} is less than the minimum record overhead ({MinRecordOverhead})";
            return Framing.Corrupt;
        }
        if (buffer.Length < HeaderSizeUpToMagic)
        {
            return Framing.None;
        }
        var magic = (sbyte)buffer[RecordBatch.MagicOffset];
        if (magic < 0 || magic > RecordBatch.CurrentMagic)
        {
            corruption = $"Invalid magic found in record: {magic}";
            return Framing.Corrupt;
        }
        if ((long)recordSize + RecordBatch.LogOverhead > buffer.Length)
        {
            return Framing.None;
        }
        size = recordSize + RecordBatch.LogOverhead;
        return Framing.Batch;
    }

    protected override ProduceResponse ErrorResponse(RequestContext context, ProduceRequest request, ErrorCode error) => new()
    {
        Responses = request.TopicData.Select(t => new TopicProduceResponse
        {
            Name = t.Name,
            PartitionResponses = t.PartitionData.Select(p => new PartitionProduceResponse { Index = p.Index, ErrorCode = (short)error, BaseOffset = -1 }).ToList(),
        }).ToList(),
    };
}
