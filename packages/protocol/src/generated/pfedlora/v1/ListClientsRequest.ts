// Original file: ../../proto/pfedlora/v1/admin.proto


export interface ListClientsRequest {
}

export interface ListClientsRequest__Output {
}
