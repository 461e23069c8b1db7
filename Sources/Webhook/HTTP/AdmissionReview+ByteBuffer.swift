import KubeModel
import NIOCore

extension AdmissionReview {
    /// Decodes the request body where NIO received it: the parser reads the buffer's bytes in
    /// place, with no `Data` in between.
    static func decodeRequest(from buffer: ByteBuffer) throws(AdmissionReviewDecodingError) -> AdmissionRequest {
        let result: Result<AdmissionRequest, AdmissionReviewDecodingError> = buffer.withUnsafeReadableBytes { raw in
            Result { () throws(AdmissionReviewDecodingError) in try AdmissionReview.decodeRequest(bytes: raw) }
        }
        return try result.get()
    }
}
