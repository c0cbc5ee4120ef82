namespace Samsa.Storage;

/// <summary>Kafka error codes the log can raise; the numbers are Kafka's, so the broker maps them one to one.</summary>
public enum StorageErrorCode : short
{
    OffsetOutOfRange = 1,
    CorruptMessage = 2,
    MessageTooLarge = 10,
    RecordListTooLarge = 18,
    InvalidTimestamp = 32,
    OutOfOrderSequenceNumber = 45,
    InvalidProducerEpoch = 47,
    TransactionCoordinatorFenced = 52,
    KafkaStorageError = 56,
    InvalidRecord = 87,
}

/// <summary>An append or read the log refused; <see cref="ErrorCode"/> is the Kafka error code to send back.</summary>
public class StorageException(StorageErrorCode errorCode, string message) : Exception(message)
{
    public StorageErrorCode ErrorCode { get; } = errorCode;

    /// <summary>The records that caused the refusal (index within the batch, reason): Produce v8+ returns them as record_errors.</summary>
    public IReadOnlyList<RecordError> RecordErrors { get; init; } = [];
}

/// <summary>One rejected record of a batch (Kafka's <c>RecordError</c>): its index within the batch and why.</summary>
public readonly record struct RecordError(int BatchIndex, string Message)
{
    public override string ToString() => $"RecordError(batchIndex={BatchIndex}, message='{Message}')";
}

public sealed class OffsetOutOfRangeException(string message) : StorageException(StorageErrorCode.OffsetOutOfRange, message);

public sealed class CorruptRecordException(string message) : StorageException(StorageErrorCode.CorruptMessage, message);

public sealed class InvalidRecordException(string message) : StorageException(StorageErrorCode.InvalidRecord, message);

public sealed class RecordTooLargeException(string message) : StorageException(StorageErrorCode.MessageTooLarge, message);

public sealed class RecordBatchTooLargeException(string message) : StorageException(StorageErrorCode.RecordListTooLarge, message);

public sealed class InvalidTimestampException(string message) : StorageException(StorageErrorCode.InvalidTimestamp, message);

/// <summary>OUT_OF_ORDER_SEQUENCE_NUMBER: an idempotent producer's batch does not follow its last one.</summary>
public sealed class OutOfOrderSequenceException(string message) : StorageException(StorageErrorCode.OutOfOrderSequenceNumber, message);

/// <summary>INVALID_PRODUCER_EPOCH: a batch from an epoch older than the producer's current one (a zombie).</summary>
public sealed class InvalidProducerEpochException(string message) : StorageException(StorageErrorCode.InvalidProducerEpoch, message);

/// <summary>TRANSACTION_COORDINATOR_FENCED: a transaction marker from a coordinator epoch older than the last marker's.</summary>
public sealed class TransactionCoordinatorFencedException(string message) : StorageException(StorageErrorCode.TransactionCoordinatorFenced, message);
