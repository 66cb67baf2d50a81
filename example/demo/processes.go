package demo

import "github.com/gin-audit-trail/audit/process"

// ProcessIDHeader is the response header carrying the id of the audited
// process a request ran, so clients (and tests) can look it up.
const ProcessIDHeader = "X-Audit-Process-Id"

// CreateProductProcess is the process of POST /api/product/, the port of
// the Django demo's CreateProductProcessAudit. Its names are kept in
// Portuguese, as in the Django demo.
var CreateProductProcess = process.Definition{
	Name:        "Criar produto",
	Description: "Cadastro de um produto pela API",
	Steps: []process.StepDefinition{
		{Name: "Validação dos Dados", Order: stepValidation, Expected: 2},
		{Name: "Salvar no banco de dados", Order: stepSave},
	},
}

// DeleteProductProcess is the process of DELETE /api/product/:id/.
var DeleteProductProcess = process.Definition{
	Name:        "Deletar produto",
	Description: "Exclusão de um produto pela API",
	Steps: []process.StepDefinition{
		{Name: "Buscar produto", Order: stepFind},
		{Name: "Deletar do banco de dados", Order: stepDelete},
	},
}

// Step orders of the two processes.
const (
	stepValidation = 1
	stepSave       = 2

	stepFind   = 1
	stepDelete = 2
)

// Registration names, as in the Django demo.
const (
	regCodeValid      = "Codigo do produto validados com sucesso"
	regDataValid      = "Dados de criação validados com sucesso"
	regCodeInvalid    = "Error de validação de codigo"
	regDataInvalid    = "Erros de validação"
	regSaved          = "Salvar no banco de dados"
	regFound          = "Produto encontrado"
	regNotFound       = "Produto não encontrado"
	regDeleted        = "Produto deletado"
	regDeleteFailed   = "Erro ao deletar produto"
	regLookupFailed   = "Erro ao buscar produto"
	duplicateCodeText = "product with this code already exists."
)
