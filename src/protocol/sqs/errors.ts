// SQS errors as both wire protocols report them. An error has a shape name (the JSON protocol's
// __type, after its namespace), a query code (the query protocol's <Code>, and the JSON protocol's
// x-amzn-query-error header, which the SDKs prefer), an HTTP status and a fault (Sender = client).
// Model errors come from the Smithy model's awsQueryError traits; the others are AWS's common errors
// (docs: AWSSimpleQueueService/latest/APIReference/CommonErrors.html) and the JSON front end's own.
import { MODEL_ERRORS, type SqsModelErrorShape } from './model.js';

export const QUEUE_DOES_NOT_EXIST_JSON = 'The specified queue does not exist.';
export const QUEUE_DOES_NOT_EXIST_QUERY = 'The specified queue does not exist for this wsdl version.';

export type SqsFault = 'Sender' | 'Receiver';

interface ErrorInfo {
  readonly code: string;
  readonly httpStatus: number;
  readonly fault: SqsFault;
  /** The JSON __type namespace when it is not com.amazonaws.sqs. */
  readonly namespace?: string;
  /** The JSON __type shape name when it is not the name used here. */
  readonly jsonShape?: string;
}

const CORAL = 'com.amazon.coral.service';

/** Errors that are not shapes of the model, keyed by the name used for them here. */
export const COMMON_ERRORS = {
  // AWS's JSON endpoint reports an authorization refusal as coral's AccessDeniedException, with
  // `AccessDenied;Sender` in x-amzn-query-error (the code the SDKs report, as on the query endpoint).
  AccessDenied: {
    code: 'AccessDenied',
    httpStatus: 403,
    fault: 'Sender',
    namespace: CORAL,
    jsonShape: 'AccessDeniedException',
  },
  IncompleteSignature: { code: 'IncompleteSignature', httpStatus: 400, fault: 'Sender' },
  InternalFailure: { code: 'InternalFailure', httpStatus: 500, fault: 'Receiver' },
  InvalidAction: { code: 'InvalidAction', httpStatus: 400, fault: 'Sender' },
  InvalidClientTokenId: { code: 'InvalidClientTokenId', httpStatus: 403, fault: 'Sender' },
  InvalidParameterCombination: { code: 'InvalidParameterCombination', httpStatus: 400, fault: 'Sender' },
  // AWS's JSON endpoint names these two by their own shape names (not in the model), with the query
  // code in x-amzn-query-error (issue 14's recorded AWS runs; LocalStack's SQS exceptions use the
  // same names; botocore reports the __type as QueryErrorCode beside the header's code).
  InvalidParameterValue: {
    code: 'InvalidParameterValue',
    httpStatus: 400,
    fault: 'Sender',
    jsonShape: 'InvalidParameterValueException',
  },
  InvalidQueryParameter: { code: 'InvalidQueryParameter', httpStatus: 400, fault: 'Sender' },
  MalformedQueryString: { code: 'MalformedQueryString', httpStatus: 404, fault: 'Sender' },
  MissingAction: { code: 'MissingAction', httpStatus: 400, fault: 'Sender' },
  MissingAuthenticationToken: { code: 'MissingAuthenticationToken', httpStatus: 403, fault: 'Sender' },
  MissingParameter: {
    code: 'MissingParameter',
    httpStatus: 400,
    fault: 'Sender',
    jsonShape: 'MissingRequiredParameterException',
  },
  RequestExpired: { code: 'RequestExpired', httpStatus: 400, fault: 'Sender' },
  ServiceUnavailable: { code: 'ServiceUnavailable', httpStatus: 503, fault: 'Receiver' },
  SignatureDoesNotMatch: { code: 'SignatureDoesNotMatch', httpStatus: 403, fault: 'Sender' },
  ThrottlingException: { code: 'ThrottlingException', httpStatus: 400, fault: 'Sender' },
  ValidationError: { code: 'ValidationError', httpStatus: 400, fault: 'Sender' },
  // The JSON front end's errors for a request it cannot route or read (coral = AWS's service framework).
  UnknownOperationException: {
    code: 'UnknownOperationException',
    httpStatus: 400,
    fault: 'Sender',
    namespace: CORAL,
  },
  SerializationException: {
    code: 'SerializationException',
    httpStatus: 400,
    fault: 'Sender',
    namespace: CORAL,
  },
} as const satisfies Record<string, ErrorInfo>;

export type SqsErrorShape = SqsModelErrorShape | keyof typeof COMMON_ERRORS;

export class SqsError extends Error {
  readonly shape: SqsErrorShape;
  readonly queryCode: string;
  readonly httpStatus: number;
  readonly fault: SqsFault;
  /** The JSON protocol's __type: namespace#shape. */
  readonly jsonType: string;

  constructor(shape: SqsErrorShape, message: string) {
    super(message);
    this.name = 'SqsError';
    const info: ErrorInfo =
      shape in MODEL_ERRORS
        ? MODEL_ERRORS[shape as SqsModelErrorShape]
        : COMMON_ERRORS[shape as keyof typeof COMMON_ERRORS];
    if (!info) throw new TypeError(`unknown SQS error shape ${shape}`);
    this.shape = shape;
    this.queryCode = info.code;
    this.httpStatus = info.httpStatus;
    this.fault = info.fault;
    this.jsonType = `${info.namespace ?? 'com.amazonaws.sqs'}#${info.jsonShape ?? shape}`;
  }

  /**
   * The message as the query protocol writes it. AWS words a missing queue differently per protocol:
   * "… does not exist for this wsdl version." on the query endpoint (the AWS SDKs' own integration
   * features assert it: aws-sdk-js and aws-sdk-ruby features/sqs/sqs.feature, "Handling errors"),
   * "The specified queue does not exist." on the JSON endpoint (as recorded by emulators that answer
   * both protocols, e.g. the Node emulator that answers JSON with the short text).
   */
  get queryMessage(): string {
    if (this.shape === 'QueueDoesNotExist' && this.message === QUEUE_DOES_NOT_EXIST_JSON) {
      return QUEUE_DOES_NOT_EXIST_QUERY;
    }
    return this.message;
  }
}

export function sqsError(shape: SqsErrorShape, message: string): SqsError {
  return new SqsError(shape, message);
}

export function isSqsError(value: unknown): value is SqsError {
  return value instanceof SqsError;
}

/** AWS's text for an InternalFailure (a bug on the server's side). */
export const INTERNAL_FAILURE_MESSAGE = 'We encountered an internal error. Please try again.';

// Messages in AWS's wording, so that users searching for them find the AWS documentation.
export const missingParameter = (name: string): SqsError =>
  sqsError('MissingParameter', `The request must contain the parameter ${name}.`);

export const invalidParameterValue = (name: string, value: string, reason: string): SqsError =>
  sqsError('InvalidParameterValue', `Value ${value} for parameter ${name} is invalid. Reason: ${reason}`);
